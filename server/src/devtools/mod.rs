//! What the server needs only to be developed, demonstrated and measured, kept
//! out of the serving code: the demo province, the synthetic province of
//! millions, the benchmarks, the precision test set of reused-paper detection, and the
//! synthetic photos they and the tests use.

pub mod bench;
pub mod demo;
pub mod precision;
pub mod province;
pub mod synthetic;
