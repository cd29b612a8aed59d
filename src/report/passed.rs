//! Passing exchanges, kept out of memory.
//!
//! A report shows a passing exchange only as a JUnit test case (name and time) and in the
//! counts. A long run has millions of them, so the runner writes each to a spool (an anonymous
//! temporary file, gone when the run is) as soon as it is judged, and keeps only the counts.
//! The JUnit writer reads the spool back once per suite. Where no temporary file can be made,
//! the spool is kept in memory instead (and the run says so).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::time::Duration;

use crate::checks;

// A passing exchange's checks are bits of a u64.
const _: () = assert!(checks::CATALOGUE.len() <= 64);

/// The passing exchanges of a run: counted, and spooled for the JUnit report.
#[derive(Debug, Default)]
pub struct Passed {
    spool: Option<Spool>,
    /// Why the spool is in memory, if it is.
    in_memory: Option<String>,
    /// Why the spool could not be written, if it could not: the JUnit report cannot be
    /// written then, and says why.
    error: Option<String>,
    count: usize,
    /// Of them, valid requests refused by the server's own policy.
    policy_refusals: usize,
    /// Per check, by catalogue index: exchanges it passed, and their time in all.
    by_check: Vec<(usize, Duration)>,
}

/// One passing exchange, read back.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    /// The exchange's position in the run.
    pub seq: u64,
    pub name: String,
    pub elapsed: Duration,
    /// The checks it passed, by catalogue index, as bits.
    checks: u64,
}

/// Where the spool is.
#[derive(Debug)]
enum Spool {
    File(BufWriter<File>),
    Memory(Vec<u8>),
}

impl Entry {
    /// Whether the exchange passed the check with catalogue index `check`.
    pub fn passed(&self, check: usize) -> bool {
        check < 64 && self.checks & (1 << check) != 0
    }
}

/// The catalogue index of check `id`.
pub fn check_index(id: &str) -> Option<usize> {
    checks::CATALOGUE.iter().position(|check| check.id == id)
}

impl Passed {
    /// Records a passing exchange: its position in the run, its test name, its time, the
    /// checks that applied to it, and whether it is a valid request the server's own policy
    /// refused.
    pub fn push<'c>(
        &mut self,
        seq: u64,
        name: &str,
        elapsed: Duration,
        checks: impl IntoIterator<Item = &'c str>,
        policy_refusal: bool,
    ) {
        self.policy_refusals += usize::from(policy_refusal);
        let mut bits = 0u64;
        for index in checks.into_iter().filter_map(check_index) {
            bits |= 1 << index;
            if self.by_check.len() <= index {
                self.by_check.resize(index + 1, Default::default());
            }
            self.by_check[index].0 += 1;
            self.by_check[index].1 += elapsed;
        }
        self.count += 1;
        if self.error.is_some() {
            return;
        }
        let spool = self
            .spool
            .get_or_insert_with(|| match tempfile::tempfile() {
                Ok(file) => Spool::File(BufWriter::new(file)),
                Err(error) => {
                    self.in_memory = Some(format!("no temporary file could be made ({error})"));
                    Spool::Memory(Vec::new())
                }
            });
        let elapsed = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let mut entry = Vec::with_capacity(32 + name.len());
        for word in [seq, elapsed, bits, name.len() as u64] {
            entry.extend_from_slice(&word.to_le_bytes());
        }
        entry.extend_from_slice(name.as_bytes());
        match spool {
            Spool::File(file) => {
                if let Err(error) = file.write_all(&entry) {
                    self.error = Some(format!(
                        "the spool of passing exchanges could not be written: {error}"
                    ));
                }
            }
            Spool::Memory(bytes) => bytes.extend_from_slice(&entry),
        }
    }

    /// Why the spool is kept in memory, if it is.
    pub fn in_memory(&self) -> Option<&str> {
        self.in_memory.as_deref()
    }

    /// Why the spool could not be written, if it could not.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Exchanges recorded.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Valid requests among them that the server's own policy refused.
    pub fn policy_refusals(&self) -> usize {
        self.policy_refusals
    }

    /// How many exchanges passed the check, and their time in all.
    pub fn of_check(&self, id: &str) -> (usize, Duration) {
        check_index(id)
            .and_then(|index| self.by_check.get(index))
            .copied()
            .unwrap_or_default()
    }

    /// Writes out what is buffered: call once the run is over, before reading.
    pub fn seal(&mut self) {
        if let Some(Spool::File(file)) = &mut self.spool {
            if let Err(error) = file.flush() {
                self.error = Some(format!(
                    "the spool of passing exchanges could not be written: {error}"
                ));
            }
        }
    }

    /// The exchanges in the order they were recorded.
    pub fn entries(&self) -> std::io::Result<Entries<'_>> {
        if let Some(error) = &self.error {
            return Err(std::io::Error::other(error.clone()));
        }
        let reader: Option<Box<dyn Read + '_>> = match &self.spool {
            Some(Spool::File(spool)) => {
                let mut file = spool.get_ref();
                file.seek(SeekFrom::Start(0))?;
                Some(Box::new(BufReader::new(file)))
            }
            Some(Spool::Memory(bytes)) => Some(Box::new(bytes.as_slice())),
            None => None,
        };
        Ok(Entries {
            reader,
            left: self.count,
        })
    }
}

/// One entry of the spool, as `Passed::push` wrote it.
fn read_entry(reader: &mut impl Read) -> std::io::Result<Entry> {
    let mut word = || -> std::io::Result<u64> {
        let mut bytes = [0u8; 8];
        reader.read_exact(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    };
    let seq = word()?;
    let elapsed = Duration::from_nanos(word()?);
    let checks = word()?;
    let length = usize::try_from(word()?).map_err(std::io::Error::other)?;
    let mut name = vec![0u8; length];
    reader.read_exact(&mut name)?;
    let name = String::from_utf8(name).map_err(std::io::Error::other)?;
    Ok(Entry {
        seq,
        name,
        elapsed,
        checks,
    })
}

/// Reads the spool back, entry by entry.
pub struct Entries<'a> {
    reader: Option<Box<dyn Read + 'a>>,
    left: usize,
}

impl Iterator for Entries<'_> {
    type Item = std::io::Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let reader = self.reader.as_mut()?;
        let entry = read_entry(reader);
        if entry.is_err() {
            self.left = 0;
        }
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_in_order_with_their_checks() {
        let mut passed = Passed::default();
        let names = [
            "c0001 Op [user] valid body",
            "c0001.1 Op [user] probe: ünïcode",
        ];
        let elapsed = Duration::from_micros(90);
        passed.push(0, names[0], elapsed, ["timeout", "server_error"], false);
        passed.push(3, names[1], Duration::from_micros(40), ["timeout"], true);
        passed.seal();
        assert_eq!(passed.len(), 2);
        assert_eq!(passed.policy_refusals(), 1);
        assert_eq!(passed.of_check("timeout"), (2, Duration::from_micros(130)));
        assert_eq!(
            passed.of_check("server_error"),
            (1, Duration::from_micros(90))
        );
        assert_eq!(passed.of_check("response_schema"), (0, Duration::ZERO));
        for _ in 0..2 {
            let entries: Vec<Entry> = passed.entries().unwrap().map(Result::unwrap).collect();
            assert_eq!(entries.len(), 2);
            assert_eq!(entries[0].seq, 0);
            assert_eq!(entries[1].name, names[1]);
            assert_eq!(entries[1].elapsed, Duration::from_micros(40));
            let server_error = check_index("server_error").unwrap();
            assert!(entries[0].passed(server_error));
            assert!(!entries[1].passed(server_error));
        }
    }

    #[test]
    fn nothing_recorded_reads_as_nothing() {
        let passed = Passed::default();
        assert!(passed.is_empty());
        assert_eq!(passed.entries().unwrap().count(), 0);
    }
}
