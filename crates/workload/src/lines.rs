//! Lines of a text file, read the same way by every reader of the crate: a UTF-8
//! byte-order mark at the start is skipped (spreadsheet programs write one), a line is
//! at most [`MAX_LINE_BYTES`] long (a file without newlines cannot take the memory),
//! and what an error quotes of a line is clipped ([`clip`]).

use std::io::{BufRead, Read as _};

/// Longest line accepted, in bytes: far more than any row of a trace or table.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Why a line could not be read.
#[derive(Debug)]
pub enum LineError {
    /// The file could not be read.
    Io(std::io::Error),
    /// A line longer than [`MAX_LINE_BYTES`].
    TooLong,
    /// A line that is not UTF-8 text.
    NotUtf8,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::Io(e) => write!(f, "{e}"),
            LineError::TooLong => write!(
                f,
                "a line is longer than {} MiB; is this a text file of rows?",
                MAX_LINE_BYTES >> 20
            ),
            LineError::NotUtf8 => write!(f, "the line is not UTF-8 text"),
        }
    }
}

/// The lines of `reader`, without their line endings.
pub struct Lines<R> {
    reader: R,
    first: bool,
    buffer: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `reader`.
    pub fn new(reader: R) -> Self {
        Lines {
            reader,
            first: true,
            buffer: Vec::new(),
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = Result<String, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.buffer.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = match std::io::Read::by_ref(&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buffer)
        {
            Ok(n) => n,
            Err(e) => return Some(Err(LineError::Io(e))),
        };
        if n == 0 {
            return None;
        }
        if self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
            if self.buffer.last() == Some(&b'\r') {
                self.buffer.pop();
            }
        } else if n as u64 == limit {
            return Some(Err(LineError::TooLong));
        }
        let mut bytes = self.buffer.as_slice();
        if std::mem::take(&mut self.first) {
            bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        }
        Some(
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| LineError::NotUtf8),
        )
    }
}

/// `text` cut to at most `max` characters, marked where it was cut: what an error
/// message quotes of a line.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}… ({} bytes in all)", &text[..at], text.len()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8]) -> Vec<Result<String, String>> {
        Lines::new(bytes)
            .map(|l| l.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_line_endings_dropped() {
        assert_eq!(
            lines("\u{feff}a,b\r\n1,2\n3,4".as_bytes()),
            vec![Ok("a,b".into()), Ok("1,2".into()), Ok("3,4".into())]
        );
        // Only at the very start.
        assert_eq!(
            lines("a\n\u{feff}b\n".as_bytes()),
            vec![Ok("a".into()), Ok("\u{feff}b".into())]
        );
    }

    #[test]
    fn a_line_without_end_is_refused_not_read_whole() {
        let mut data = b"header\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        let got = lines(&data);
        assert_eq!(got[0], Ok("header".into()));
        assert!(got[1].as_ref().unwrap_err().contains("longer than 1 MiB"));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_an_error() {
        assert!(lines(b"ok\n\xff\xfe\n")[1].is_err());
    }

    #[test]
    fn clipping_marks_the_cut() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdef", 3), "abc… (6 bytes in all)");
    }
}
