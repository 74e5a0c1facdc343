//! `--processes N`: the same run in N fresh processes, one after the other, and each
//! cell's median over them.
//!
//! On a shared VM a cell's ratio moves more from one process to the next than between
//! the runs of one process: the runs of a process reuse the pages its allocator got
//! first, and where those pages land (and what the neighbours do with memory meanwhile)
//! speeds up or slows down a cache for the whole process. Medians over the runs of one
//! process cannot remove that; a median over processes does. Every table the children
//! print is summed up: each cell becomes the median of its throughput, the median of
//! its ratio to quick_cache, and the lowest and highest ratio seen.
//!
//! ```text
//! cd benches/compare && cargo run --release -- --processes 5 --only 4,5 --column 0,2
//! ```

use std::process::Command;

use crate::median;

/// One cell of a child's table: throughput and the ratio to quick_cache (the last
/// column, a hit ratio, has no ratio).
#[derive(Clone, Copy)]
struct Cell {
    value: f64,
    ratio: Option<f64>,
}

/// A table as a child printed it: its header line and its rows (name, cells; `None`
/// for a cell not run).
struct Table {
    header: String,
    rows: Vec<(String, Vec<Option<Cell>>)>,
}

/// Parses `" 23.38 (1.20x) "`, `" 23.38 "` or `" - "`.
fn parse_cell(text: &str) -> Option<Cell> {
    let mut words = text.split_whitespace();
    let value = words.next()?.parse().ok()?;
    let ratio = words
        .next()
        .and_then(|w| w.strip_prefix('(')?.strip_suffix("x)")?.parse().ok());
    Some(Cell { value, ratio })
}

/// The markdown tables of one child's output, in order.
fn parse_tables(out: &str) -> Vec<Table> {
    let mut tables: Vec<Table> = Vec::new();
    let mut in_table = false;
    for line in out.lines() {
        if line.starts_with("| cache |") {
            tables.push(Table {
                header: line.to_string(),
                rows: Vec::new(),
            });
            in_table = true;
        } else if in_table && line.starts_with("|---") {
            continue;
        } else if in_table && line.starts_with("| ") {
            let parts: Vec<&str> = line.trim_matches('|').split('|').collect();
            if let (Some((name, cells)), Some(table)) = (parts.split_first(), tables.last_mut()) {
                let cells = cells.iter().map(|c| parse_cell(c)).collect();
                table.rows.push((name.trim().to_string(), cells));
            }
        } else {
            in_table = false;
        }
    }
    tables
}

/// Runs this program `n` times with `args` (which must not hold `--processes`), then
/// prints the first child's lines that are not tables and, for every table, each
/// cell's median over the children.
pub(crate) fn main(n: usize, args: &[String]) {
    let exe = std::env::current_exe().expect("the path of this program");
    let mut children: Vec<Vec<Table>> = Vec::new();
    let mut first_out = String::new();
    for p in 0..n {
        eprintln!("process {} of {n}: {}", p + 1, args.join(" "));
        let out = Command::new(&exe)
            .args(args)
            .output()
            .expect("run this program again");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            eprintln!("process {} failed:\n{text}", p + 1);
            std::process::exit(1);
        }
        children.push(parse_tables(&text));
        if p == 0 {
            first_out = text;
        }
    }
    for line in first_out.lines().filter(|l| !l.starts_with('|')) {
        println!("{line}");
    }
    println!(
        "each cell: the median over {n} processes of its Mops/s, and of its ratio to quick_cache [lowest-highest ratio]"
    );
    for (t, table) in children[0].iter().enumerate() {
        println!();
        println!("{}", table.header);
        let columns = table.rows.first().map_or(0, |r| r.1.len());
        println!("|---|{}", "---|".repeat(columns));
        for (r, (name, _)) in table.rows.iter().enumerate() {
            print!("| {name} |");
            for c in 0..columns {
                let cells: Vec<Cell> = children
                    .iter()
                    .filter_map(|tables| *tables.get(t)?.rows.get(r)?.1.get(c)?)
                    .collect();
                let mut values: Vec<f64> = cells.iter().map(|c| c.value).collect();
                let mut ratios: Vec<f64> = cells.iter().filter_map(|c| c.ratio).collect();
                if values.is_empty() {
                    print!(" - |");
                    continue;
                }
                let v = median(&mut values);
                if ratios.is_empty() {
                    let digits = if c + 1 == columns { 3 } else { 2 };
                    print!(" {v:.digits$} |");
                } else {
                    // `median` leaves the ratios sorted: lowest first, highest last.
                    let ratio = median(&mut ratios);
                    let (lo, hi) = (ratios[0], ratios[ratios.len() - 1]);
                    print!(" {v:.2} ({ratio:.2}x) [{lo:.2}-{hi:.2}] |");
                }
            }
            println!();
        }
    }
}
