# Sourced by scripts/test: the real tools `palisade audit` is compared
# against, from the npm registry, and a test CA both trust.
#
# - @mdn/mdn-http-observatory, installed with --ignore-scripts (its
#   postinstall downloads the HSTS preload list from the internet; tests
#   talk to loopback only), with an empty conf/hsts-preload.json. Tests run
#   its src/scan.js directly: bin/wrapper.js overwrites NODE_EXTRA_CA_CERTS.
# - csp_evaluator, Google's CSP Evaluator.
# - @microsoft/sarif-multitool, whose `validate` checks SARIF output.
# - A CA and one leaf certificate for 127.0.0.1 and 127.0.0.2-127.0.0.99
#   (the corpus sites each get their own address: the Observatory 1.4.8
#   takes a bare host and scans ports 80 and 443 only).

OBSERVATORY_VERSION=1.4.8
CSP_EVALUATOR_VERSION=1.1.8
# Microsoft's SARIF validator (a self-contained Linux binary in its
# platform package), for `palisade audit --format sarif`.
SARIF_MULTITOOL_VERSION=5.7.0

ensure_observatory() {
    local dir=target/oracles/observatory
    local stamp="$dir/.versions"
    local want="observatory $OBSERVATORY_VERSION csp_evaluator $CSP_EVALUATOR_VERSION sarif $SARIF_MULTITOOL_VERSION"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "scripts/test: installing @mdn/mdn-http-observatory@$OBSERVATORY_VERSION, csp_evaluator@$CSP_EVALUATOR_VERSION and @microsoft/sarif-multitool@$SARIF_MULTITOOL_VERSION into $dir" >&2
        rm -rf "$dir"
        mkdir -p "$dir"
        (cd "$dir" && echo '{"private":true}' >package.json &&
            npm install --silent --no-audit --no-fund --ignore-scripts \
                "@mdn/mdn-http-observatory@$OBSERVATORY_VERSION" "csp_evaluator@$CSP_EVALUATOR_VERSION" \
                "@microsoft/sarif-multitool@$SARIF_MULTITOOL_VERSION")
        local conf="$dir/node_modules/@mdn/mdn-http-observatory/conf"
        mkdir -p "$conf"
        echo '{}' >"$conf/hsts-preload.json"
        # --ignore-scripts also skipped the step that marks it executable.
        chmod +x "$dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
        echo "$want" >"$stamp"
    fi
    PALISADE_OBSERVATORY_SCAN="$(pwd)/$dir/node_modules/@mdn/mdn-http-observatory/src/scan.js"
    PALISADE_CSP_EVALUATOR="$(pwd)/$dir/node_modules/csp_evaluator"
    PALISADE_SARIF_MULTITOOL="$(pwd)/$dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
    export PALISADE_OBSERVATORY_SCAN PALISADE_CSP_EVALUATOR PALISADE_SARIF_MULTITOOL

    local ca=target/oracles/ca
    # Remade when it lacks the last address (older checkouts made fewer).
    if [ ! -f "$ca/leaf.pem" ] || ! openssl x509 -in "$ca/leaf.pem" -noout -text | grep -q "127\.0\.0\.99$"; then
        echo "scripts/test: making a test CA in $ca" >&2
        rm -rf "$ca"
        mkdir -p "$ca"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Palisade test CA" \
            -keyout "$ca/ca.key" -out "$ca/ca.pem" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        local sans="DNS:localhost,IP:127.0.0.1"
        local i
        for i in $(seq 2 99); do
            sans="$sans,IP:127.0.0.$i"
        done
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
            -keyout "$ca/leaf.key" -out "$ca/leaf.csr" 2>/dev/null
        printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' "$sans" >"$ca/leaf.ext"
        openssl x509 -req -in "$ca/leaf.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" -CAcreateserial \
            -days 3650 -extfile "$ca/leaf.ext" -out "$ca/leaf.pem" 2>/dev/null
    fi
    PALISADE_TEST_CA="$(pwd)/$ca/ca.pem"
    PALISADE_TEST_LEAF_CERT="$(pwd)/$ca/leaf.pem"
    PALISADE_TEST_LEAF_KEY="$(pwd)/$ca/leaf.key"
    export PALISADE_TEST_CA PALISADE_TEST_LEAF_CERT PALISADE_TEST_LEAF_KEY
}
