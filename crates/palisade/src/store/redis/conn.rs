//! One connection type for a standalone server and a cluster.
//!
//! Everything the store sends is either one single-slot command (plain or a
//! script) or a batch of them. On a standalone server a batch is one
//! pipeline (one round trip); on a cluster it is sent as concurrent
//! single-slot commands (a redis-rs cluster pipeline must stay in one slot),
//! which the cluster connection multiplexes per node.

use super::scripts::{Lua, Scripts};
use futures_util::future::{try_join_all, BoxFuture};
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, RedisResult, ServerErrorKind, Value};

/// Keys returned per `SCAN` call.
const SCAN_COUNT: usize = 500;

#[derive(Clone)]
pub(super) enum Conn {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A node to `SCAN`: the only one, or a cluster primary by address.
pub(super) enum Node {
    Only,
    Primary { host: String, port: u16 },
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> BoxFuture<'a, RedisResult<Value>> {
        match self {
            Conn::Standalone(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> BoxFuture<'a, RedisResult<Vec<Value>>> {
        match self {
            Conn::Standalone(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Standalone(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

fn is_noscript(err: &RedisError) -> bool {
    err.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
}

/// `EVALSHA` of `lua` on `keys` with `args`.
pub(super) fn evalsha(lua: &Lua, keys: &[&str], args: &[Vec<u8>]) -> Cmd {
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(&lua.sha).arg(keys.len()).arg(keys).arg(args);
    cmd
}

impl Conn {
    pub(super) fn is_cluster(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }

    /// One command. Retried once when the connection was *refused* (so the
    /// command was never sent): after a server restart, `ConnectionManager`
    /// hands out its failed reconnect once before reconnecting, and the
    /// retry lets the first request after the restart succeed. Nothing that
    /// may have reached the server is ever sent twice.
    pub(super) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        let mut conn = self.clone();
        match cmd.query_async(&mut conn).await {
            Err(err) if err.is_connection_refusal() => {
                tracing::debug!("redis session store: connection refused, retrying once after reconnecting");
                cmd.query_async(&mut conn).await
            }
            result => result,
        }
    }

    /// Loads every script (standalone: the server; cluster: every node).
    pub(super) async fn load_scripts(&self) -> RedisResult<()> {
        for lua in Scripts::get().all() {
            let mut cmd = redis::cmd("SCRIPT");
            cmd.arg("LOAD").arg(&lua.code);
            let _: Value = self.query(&cmd).await?;
        }
        Ok(())
    }

    /// Runs a script with `EVALSHA` (one round trip). Only when the server
    /// answers `NOSCRIPT` (it restarted, failed over, or someone ran
    /// `SCRIPT FLUSH`) are the scripts loaded and the call repeated: a
    /// `NOSCRIPT` reply means the script did not run, so nothing runs twice.
    pub(super) async fn eval<T: FromRedisValue>(&self, lua: &Lua, keys: &[&str], args: &[Vec<u8>]) -> RedisResult<T> {
        let cmd = evalsha(lua, keys, args);
        match self.query(&cmd).await {
            Err(err) if is_noscript(&err) => {
                tracing::info!(script = lua.name, "redis session store: scripts missing on the server, loading them");
                self.load_scripts().await?;
                self.query(&cmd).await
            }
            result => result,
        }
    }

    /// Several single-slot commands: one pipeline on a standalone server,
    /// concurrent commands on a cluster. Replies in order.
    pub(super) async fn batch(&self, cmds: &[Cmd]) -> RedisResult<Vec<Value>> {
        if cmds.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Conn::Standalone(_) => {
                let mut pipe = redis::pipe();
                for cmd in cmds {
                    pipe.add_command(cmd.clone());
                }
                let mut conn = self.clone();
                match pipe.query_async(&mut conn).await {
                    Err(err) if err.is_connection_refusal() => pipe.query_async(&mut conn).await,
                    result => result,
                }
            }
            Conn::Cluster(_) => try_join_all(cmds.iter().map(|cmd| self.query::<Value>(cmd))).await,
        }
    }

    /// A batch of `EVALSHA` calls, reloading the scripts once on `NOSCRIPT`.
    /// Only for scripts that are harmless to run again (sweep).
    pub(super) async fn batch_eval(&self, cmds: &[Cmd]) -> RedisResult<Vec<Value>> {
        match self.batch(cmds).await {
            Err(err) if is_noscript(&err) => {
                self.load_scripts().await?;
                self.batch(cmds).await
            }
            result => result,
        }
    }

    /// The nodes holding keys: the server, or every cluster primary.
    pub(super) async fn nodes(&self) -> RedisResult<Vec<Node>> {
        let Conn::Cluster(cluster) = self else { return Ok(vec![Node::Only]) };
        let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
        let reply = cluster.clone().route_command(redis::cmd("PING"), routing).await?;
        let Value::Map(entries) = reply else {
            return Err(RedisError::from((ErrorKind::Client, "unexpected reply listing the cluster primaries")));
        };
        let mut nodes = Vec::with_capacity(entries.len());
        for (address, _) in entries {
            let address = String::from_redis_value(address)?;
            let parsed = address.rsplit_once(':').and_then(|(host, port)| Some((host.to_owned(), port.parse().ok()?)));
            let Some((host, port)) = parsed else {
                return Err(RedisError::from((ErrorKind::Client, "unexpected cluster node address")));
            };
            nodes.push(Node::Primary { host, port });
        }
        Ok(nodes)
    }

    /// One `SCAN` step on `node`: the next cursor and the hashes matching
    /// `pattern`.
    pub(super) async fn scan(&self, node: &Node, cursor: u64, pattern: &str) -> RedisResult<(u64, Vec<String>)> {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(SCAN_COUNT).arg("TYPE").arg("hash");
        match (self, node) {
            (Conn::Cluster(cluster), Node::Primary { host, port }) => {
                let routing =
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host: host.clone(), port: *port });
                let reply = cluster.clone().route_command(cmd, routing).await?;
                Ok(<(u64, Vec<String>)>::from_redis_value(reply)?)
            }
            _ => self.query(&cmd).await,
        }
    }
}
