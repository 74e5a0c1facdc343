//! Reading traces: the four formats of `shared/traces/README.md`, gzip or plain.
//!
//! - **ARC `.lis`**: each line `start count ignored ignored` stands for the keys
//!   `start, start + 1, ..., start + count - 1`, requested in that order. A count above
//!   [`MAX_RUN`] is an error (a typo there would otherwise ask for terabytes).
//! - **LIRS**: one decimal key a line; lines that are not a number (`*`) are skipped,
//!   and counted in [`Trace::skipped`]; a number that does not fit a `u64` (or a
//!   negative one) is an error, not a skipped line.
//! - **keys**: one decimal key a line, possibly negative (read as `i64`).
//! - **sized**: `time key size` a line; the size (bytes) becomes the entry's weight.
//!
//! Compression is detected from the first two bytes (the gzip magic `1f 8b`), never
//! from the name. The format comes from a flag or from the name's extension (after any
//! `.gz`): `.arc`/`.lis`, `.lirs`/`.trc`, `.keys`, `.sized`.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// A trace format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// ARC `.lis`: `start count _ _`, a run of consecutive keys.
    Arc,
    /// LIRS: one key a line, non-numbers skipped.
    Lirs,
    /// One signed key a line.
    Keys,
    /// `time key size` a line.
    Sized,
}

impl Format {
    /// Parses a format name (`arc`, `lis`, `lirs`, `keys`, `sized`).
    pub fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "arc" | "lis" => Some(Format::Arc),
            "lirs" | "trc" => Some(Format::Lirs),
            "keys" | "key" => Some(Format::Keys),
            "sized" | "size" => Some(Format::Sized),
            _ => None,
        }
    }

    /// The format named by a file's extension, ignoring a trailing `.gz`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        let name = name.strip_suffix(".gz").unwrap_or(name);
        let ext = name.rsplit_once('.')?.1;
        Format::from_name(ext)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Arc => "arc",
            Format::Lirs => "lirs",
            Format::Keys => "keys",
            Format::Sized => "sized",
        })
    }
}

/// A trace in memory: the requested keys, and their sizes for sized traces.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// A short name (the file name without extensions).
    pub name: String,
    /// The requests, in order.
    pub keys: Vec<u64>,
    /// The size of each request (bytes), for sized traces.
    pub sizes: Option<Vec<u32>>,
    /// Lines the format skips (LIRS lines that are not a number, such as `*`).
    pub skipped: usize,
}

impl Trace {
    /// Number of requests.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// `true` for a trace with no request.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of distinct keys.
    pub fn unique(&self) -> usize {
        let mut seen = std::collections::HashSet::with_capacity(self.keys.len() / 4);
        self.keys.iter().filter(|k| seen.insert(**k)).count()
    }

    /// Total bytes of the distinct objects (the last size seen of each), for sized
    /// traces.
    pub fn unique_bytes(&self) -> u64 {
        let Some(sizes) = &self.sizes else {
            return self.unique() as u64;
        };
        let mut last = std::collections::HashMap::with_capacity(self.keys.len() / 4);
        for (k, s) in self.keys.iter().zip(sizes) {
            last.insert(*k, *s);
        }
        last.values().map(|&s| u64::from(s)).sum()
    }
}

/// The shared reference traces beside the repository (`../shared/traces` from the
/// workspace root), if they are there: tests use them and skip when they are not.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces");
    dir.join("README.md").exists().then_some(dir)
}

/// The file in `dir` that holds the trace called `name` (`name.<format>[.gz]`).
pub fn file_in(dir: &Path, name: &str) -> Option<PathBuf> {
    let prefix = format!("{name}.");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        })
}

/// Opens `path`, decompressing it if it starts with the gzip magic.
pub fn open(path: &Path) -> io::Result<Box<dyn BufRead>> {
    let mut file = BufReader::new(File::open(path)?);
    let gz = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(file)))
    } else {
        Box::new(file)
    })
}

/// An error reading a trace: I/O, or a line that does not fit the format.
#[derive(Debug)]
pub enum TraceError {
    /// The file could not be read.
    Io(io::Error),
    /// Line `line` (1-based) does not fit the format.
    Parse {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        what: String,
    },
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Io(e) => write!(f, "{e}"),
            TraceError::Parse { line, what } => write!(f, "line {line}: {what}"),
        }
    }
}

impl std::error::Error for TraceError {}

impl From<io::Error> for TraceError {
    fn from(e: io::Error) -> Self {
        TraceError::Io(e)
    }
}

fn field<T: std::str::FromStr>(
    it: &mut std::str::SplitAsciiWhitespace<'_>,
    line: usize,
    what: &str,
) -> Result<T, TraceError> {
    let s = it.next().ok_or_else(|| TraceError::Parse {
        line,
        what: format!("missing {what}"),
    })?;
    s.parse().map_err(|_| TraceError::Parse {
        line,
        what: format!("bad {what} {s:?}"),
    })
}

/// The most keys one ARC line may stand for. Real ARC traces' runs are a request's
/// disk blocks (a few hundred at most); a larger count is taken for a broken line.
pub const MAX_RUN: u64 = 1 << 24;

/// Reads a whole trace of `format` from `input`. `progress` is called now and then
/// with the number of requests read so far.
pub fn parse(
    input: impl Read,
    format: Format,
    name: &str,
    mut progress: impl FnMut(usize),
) -> Result<Trace, TraceError> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut trace = Trace {
        name: name.to_string(),
        keys: Vec::new(),
        sizes: (format == Format::Sized).then(Vec::new),
        skipped: 0,
    };
    let mut line = String::new();
    let mut n = 0usize;
    let mut next_report = 1 << 20;
    while {
        line.clear();
        reader.read_line(&mut line)? > 0
    } {
        n += 1;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let mut it = text.split_ascii_whitespace();
        match format {
            Format::Arc => {
                let start: u64 = field(&mut it, n, "start")?;
                let count: u64 = field(&mut it, n, "count")?;
                if count > MAX_RUN {
                    return Err(TraceError::Parse {
                        line: n,
                        what: format!("count {count} is over {MAX_RUN} keys"),
                    });
                }
                trace.keys.extend(start..start.saturating_add(count));
            }
            Format::Lirs => {
                let numeric = text
                    .strip_prefix(['-', '+'])
                    .unwrap_or(text)
                    .starts_with(|c: char| c.is_ascii_digit());
                if numeric {
                    trace.keys.push(text.parse().map_err(|_| TraceError::Parse {
                        line: n,
                        what: format!("bad key {text:?} (a key is 0 to {})", u64::MAX),
                    })?);
                } else {
                    trace.skipped += 1;
                }
            }
            Format::Keys => {
                let k: i64 = field(&mut it, n, "key")?;
                trace.keys.push(k as u64);
            }
            Format::Sized => {
                let _time: f64 = field(&mut it, n, "time")?;
                let key: i64 = field(&mut it, n, "key")?;
                let size: u64 = field(&mut it, n, "size")?;
                trace.keys.push(key as u64);
                if let Some(s) = trace.sizes.as_mut() {
                    s.push(size.clamp(1, u64::from(u32::MAX)) as u32);
                }
            }
        }
        if trace.keys.len() >= next_report {
            progress(trace.keys.len());
            next_report += 1 << 20;
        }
    }
    Ok(trace)
}

/// Reads the trace at `path`, in `format` or the one its name says.
pub fn read(
    path: &Path,
    format: Option<Format>,
    progress: impl FnMut(usize),
) -> Result<Trace, Box<dyn std::error::Error>> {
    let format = format.or_else(|| Format::from_path(path)).ok_or_else(|| {
        format!(
            "{}: cannot tell the format from the name; pass --format arc|lirs|keys|sized",
            path.display()
        )
    })?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.split('.').next().unwrap_or(n))
        .unwrap_or("trace");
    Ok(parse(open(path)?, format, name, progress)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_format() {
        let t = parse("10 3 0 0\n5 1 0 0\n".as_bytes(), Format::Arc, "a", |_| {}).unwrap();
        assert_eq!(t.keys, [10, 11, 12, 5]);
        let t = parse("1\n*\n2\n\n3\n".as_bytes(), Format::Lirs, "l", |_| {}).unwrap();
        assert_eq!((t.keys, t.skipped), (vec![1, 2, 3], 1));
        let t = parse("-1\n7\n".as_bytes(), Format::Keys, "k", |_| {}).unwrap();
        assert_eq!(t.keys, [u64::MAX, 7]);
        let t = parse("0 4 100\n1.5 4 0\n".as_bytes(), Format::Sized, "s", |_| {}).unwrap();
        assert_eq!((t.keys, t.sizes), (vec![4, 4], Some(vec![100, 1])));
        assert!(parse("x 1 0 0\n".as_bytes(), Format::Arc, "a", |_| {}).is_err());
    }

    /// Input that would be silently wrong or exhaust memory is an error on its line.
    #[test]
    fn rejects_what_it_cannot_read_faithfully() {
        let line = |input: &str, format| match parse(input.as_bytes(), format, "t", |_| {}) {
            Err(TraceError::Parse { line, .. }) => Some(line),
            _ => None,
        };
        // A key past u64 or a negative one is not "a line that is not a number".
        assert_eq!(line("1\n99999999999999999999999\n", Format::Lirs), Some(2));
        assert_eq!(line("1\n-5\n", Format::Lirs), Some(2));
        // A run longer than MAX_RUN is refused before it is expanded.
        let long = format!("1 {} 0 0\n", MAX_RUN + 1);
        assert_eq!(line(&long, Format::Arc), Some(1));
        let t = parse(
            format!("1 {MAX_RUN} 0 0\n").as_bytes(),
            Format::Arc,
            "a",
            |_| {},
        );
        assert_eq!(t.unwrap().len() as u64, MAX_RUN);
    }

    #[test]
    fn formats_from_names() {
        let f = |s: &str| Format::from_path(Path::new(s));
        assert_eq!(f("oltp.arc.gz"), Some(Format::Arc));
        assert_eq!(f("x/P3.lis"), Some(Format::Arc));
        assert_eq!(f("loop.lirs.gz"), Some(Format::Lirs));
        assert_eq!(f("web07.keys"), Some(Format::Keys));
        assert_eq!(f("cdn.sized.gz"), Some(Format::Sized));
        assert_eq!(f("mystery.gz"), None);
    }

    #[test]
    fn detects_gzip_by_magic() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("polycache-sim-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A gzip file without .gz, and a plain one with it: magic decides.
        let gz_path = dir.join("a.lirs");
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(b"1\n2\n1\n").unwrap();
        std::fs::write(&gz_path, enc.finish().unwrap()).unwrap();
        let plain_path = dir.join("b.lirs.gz");
        std::fs::write(&plain_path, b"3\n4\n").unwrap();
        assert_eq!(read(&gz_path, None, |_| {}).unwrap().keys, [1, 2, 1]);
        assert_eq!(read(&plain_path, None, |_| {}).unwrap().keys, [3, 4]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
