//! The reference hit ratios of `shared/traces/README.md`, read from its table, and the
//! published adaptive W-TinyLFU figures for OLTP.

/// One row of the README's reference table (percentages).
#[derive(Clone, Debug, PartialEq)]
pub struct RefRow {
    /// Trace name (`oltp`, `loop`, ...).
    pub trace: String,
    /// Capacity in entries.
    pub capacity: u64,
    /// Belady's OPT with bypass.
    pub opt: f64,
    /// LRU.
    pub lru: f64,
    /// moka 0.12.
    pub moka: f64,
    /// quick_cache 0.7.
    pub quick_cache: f64,
}

impl RefRow {
    /// The better of moka and quick_cache: the peers' figure a policy is held to.
    pub fn best_peer(&self) -> f64 {
        self.moka.max(self.quick_cache)
    }
}

/// The published OLTP hit ratios of an adaptive W-TinyLFU (Caffeine's simulator), at
/// capacities 250, 500, ..., 2000.
pub const PUBLISHED_OLTP: [(u64, f64); 8] = [
    (250, 24.88),
    (500, 33.73),
    (750, 37.46),
    (1000, 40.01),
    (1250, 42.28),
    (1500, 43.80),
    (1750, 45.06),
    (2000, 46.09),
];

/// Reads the rows `| trace | capacity | OPT | LRU | moka | quick_cache |` of the
/// README's table (other lines are ignored).
pub fn parse_table(readme: &str) -> Vec<RefRow> {
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .strip_prefix('|')?
                .strip_suffix('|')?
                .split('|')
                .map(str::trim)
                .collect();
            if cells.len() != 6 {
                return None;
            }
            let num = |i: usize| cells[i].parse::<f64>().ok();
            Some(RefRow {
                trace: cells[0].to_string(),
                capacity: cells[1].parse().ok()?,
                opt: num(2)?,
                lru: num(3)?,
                moka: num(4)?,
                quick_cache: num(5)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_table_rows_only() {
        let text = "| trace | capacity | OPT | LRU | moka | quick_cache |\n\
                    |---|---|---|---|---|---|\n\
                    | oltp | 250 | 38.47 | 16.47 | 22.87 | 19.38 |\n\
                    | file | format | requests | unique keys | origin |\n";
        let rows = parse_table(text);
        assert_eq!(
            rows,
            vec![RefRow {
                trace: "oltp".into(),
                capacity: 250,
                opt: 38.47,
                lru: 16.47,
                moka: 22.87,
                quick_cache: 19.38
            }]
        );
    }
}
