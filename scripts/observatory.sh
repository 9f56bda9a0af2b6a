# Sourced by scripts/test: the real tools `palisade audit` is compared
# against, from the npm registry, and a test CA both trust.
#
# - @mdn/mdn-http-observatory, installed with --ignore-scripts (its
#   postinstall downloads the HSTS preload list from the internet; tests
#   talk to loopback only), with an empty conf/hsts-preload.json. Tests run
#   its src/scan.js directly: bin/wrapper.js overwrites NODE_EXTRA_CA_CERTS.
# - csp_evaluator, Google's CSP Evaluator.
# - A CA and one leaf certificate for 127.0.0.1 and 127.0.0.2-127.0.0.60
#   (the corpus sites each get their own address: the Observatory 1.4.8
#   takes a bare host and scans ports 80 and 443 only).

OBSERVATORY_VERSION=1.4.8
CSP_EVALUATOR_VERSION=1.1.8

ensure_observatory() {
    local dir=target/oracles/observatory
    local stamp="$dir/.versions"
    local want="observatory $OBSERVATORY_VERSION csp_evaluator $CSP_EVALUATOR_VERSION"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "scripts/test: installing @mdn/mdn-http-observatory@$OBSERVATORY_VERSION and csp_evaluator@$CSP_EVALUATOR_VERSION into $dir" >&2
        rm -rf "$dir"
        mkdir -p "$dir"
        (cd "$dir" && echo '{"private":true}' >package.json &&
            npm install --silent --no-audit --no-fund --ignore-scripts \
                "@mdn/mdn-http-observatory@$OBSERVATORY_VERSION" "csp_evaluator@$CSP_EVALUATOR_VERSION")
        local conf="$dir/node_modules/@mdn/mdn-http-observatory/conf"
        mkdir -p "$conf"
        echo '{}' >"$conf/hsts-preload.json"
        echo "$want" >"$stamp"
    fi
    PALISADE_OBSERVATORY_SCAN="$(pwd)/$dir/node_modules/@mdn/mdn-http-observatory/src/scan.js"
    PALISADE_CSP_EVALUATOR="$(pwd)/$dir/node_modules/csp_evaluator"
    export PALISADE_OBSERVATORY_SCAN PALISADE_CSP_EVALUATOR

    local ca=target/oracles/ca
    if [ ! -f "$ca/leaf.pem" ]; then
        echo "scripts/test: making a test CA in $ca" >&2
        rm -rf "$ca"
        mkdir -p "$ca"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Palisade test CA" \
            -keyout "$ca/ca.key" -out "$ca/ca.pem" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        local sans="DNS:localhost,IP:127.0.0.1"
        local i
        for i in $(seq 2 60); do
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
