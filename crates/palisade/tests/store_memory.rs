//! The store conformance suite against `MemoryStore`.

#[macro_use]
#[path = "common/attempt_suite.rs"]
mod attempt_suite;

#[macro_use]
#[path = "common/store_suite.rs"]
mod store_suite;

store_suite!(async { palisade::store::MemoryStore::new() });
attempt_suite!(async { palisade::store::MemoryStore::new() });

#[macro_use]
#[path = "common/layer_suite.rs"]
mod layer_suite;

layer_suite!(async { palisade::store::MemoryStore::new() });
