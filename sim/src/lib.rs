//! polycache's simulator: replays cache traces (or a built-in synthetic workload)
//! through every policy and Belady's OPT, and reports hit ratios, throughput and an SVG
//! chart. The binary is the command-line front end; this library holds the parts that
//! the tests check.

pub mod chart;
pub mod opt;
pub mod reference;
pub mod run;
pub mod trace;
pub mod workload;
