//! What every CSV import shares: Excel's byte-order mark is skipped, and each
//! record's line is counted from its byte position, so that a file saved by
//! Excel (CRLF endings) and one with LF endings name the same lines. (The csv
//! crate's own line count runs one low after CRLF endings.)

use crate::error::FieldError;

/// An imported CSV file.
pub struct CsvFile<'a> {
    bytes: &'a [u8],
    /// Byte offsets of every `\n`, in order.
    newlines: Vec<u64>,
}

impl<'a> CsvFile<'a> {
    /// The file's bytes, without a leading UTF-8 byte-order mark.
    pub fn new(input: &'a [u8]) -> CsvFile<'a> {
        let bytes = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        let newlines = bytes
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte == b'\n')
            .map(|(offset, _)| offset as u64)
            .collect();
        CsvFile { bytes, newlines }
    }

    /// A reader over the file with a header row; `flexible` lets rows differ
    /// in length from the header.
    pub fn reader(&self, flexible: bool) -> csv::Reader<&'a [u8]> {
        csv::ReaderBuilder::new()
            .flexible(flexible)
            .from_reader(self.bytes)
    }

    /// The 1-based line a record (or an error) starts on; 0 when unknown.
    pub fn line_of(&self, position: Option<&csv::Position>) -> u64 {
        // The csv reader may place a record at the line ending before it (the
        // `\n` of a CRLF, or skipped blank lines): its line is that of its
        // first byte that is not a line ending.
        position.map_or(0, |p| {
            let start = usize::try_from(p.byte()).unwrap_or(usize::MAX);
            let first = self
                .bytes
                .iter()
                .skip(start)
                .position(|byte| !matches!(byte, b'\r' | b'\n'))
                .map_or(self.bytes.len(), |skipped| start + skipped) as u64;
            self.newlines.partition_point(|&newline| newline < first) as u64 + 1
        })
    }

    /// The problem to report for a row the csv reader could not read.
    pub fn unreadable(&self, error: &csv::Error) -> FieldError {
        FieldError::at_line(
            self.line_of(error.position()),
            "row",
            format!("unreadable row: {error}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<u64> {
        let file = CsvFile::new(text.as_bytes());
        file.reader(true)
            .records()
            .map(|row| file.line_of(row.expect("row").position()))
            .collect()
    }

    #[test]
    fn crlf_and_lf_files_name_the_same_lines() {
        let lf = "code,name\nA,Một\n\nB,\"Hai\nba\"\nC,Bốn\n";
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(lines(lf), vec![2, 4, 6]);
        assert_eq!(lines(&crlf), vec![2, 4, 6]);
        let with_bom = format!("\u{feff}{crlf}");
        assert_eq!(lines(&with_bom), vec![2, 4, 6]);
    }
}
