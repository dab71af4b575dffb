//! A JPEG at 1/8 of its size from the DC coefficients alone.
//!
//! The average of each 8 × 8 block is its DC coefficient, so the 1/8-scale
//! image needs no inverse DCT. What it still needs is the entropy decoding:
//! the DC of a block follows the Huffman-coded AC coefficients of the block
//! before it, so every code of the file has to be walked. libjpeg-turbo walks
//! them one symbol at a time and, for colour, decodes part of the chroma
//! blocks' AC too. Here one lookup in the next 12 bits skips every whole AC
//! symbol they hold (codes and extra bits), the bytes are read eight at a time
//! from data unstuffed beforehand, and nothing but the DC is kept: 11.2 ms
//! against 16.1 ms for a 12-MP photo (BENCHMARKS.md §3). The walk is bound by
//! the latency of one table lookup after another; it cannot skip the codes.
//!
//! Only what phones write is read: baseline or extended sequential Huffman
//! JPEG (SOF0/SOF1), 8-bit, one or three components in one interleaved scan,
//! with or without restart markers. Anything else (progressive, arithmetic,
//! CMYK, 12-bit, several scans) gives `None` and is decoded by libjpeg-turbo.
//! So does damaged data (a code no table has, data that runs out or out of
//! step with its restart markers), where libjpeg-turbo would warn: it is
//! never decoded to garbage, and nothing here panics.

use image::{DynamicImage, RgbImage};

/// A photo's header, as far as the DC image needs it.
struct Frame {
    width: usize,
    height: usize,
    components: Vec<Component>,
    restart_interval: usize,
}

#[derive(Clone, Copy)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant_table: usize,
    dc_table: usize,
    ac_table: usize,
}

/// Bits looked at at once; longer codes take the slow path (rare: the common
/// symbols have the short codes).
const LOOKAHEAD: u32 = 10;

/// A Huffman table, both ways it is read.
#[derive(Clone)]
struct Huffman {
    /// For the next `LOOKAHEAD` bits: the code's length (0: longer, slow
    /// path), the symbol's extra bits, and for an AC table how many positions
    /// it moves (0 for the end of the block).
    fast: Vec<FastEntry>,
    /// Canonical decoding for the long codes: the largest code of each length
    /// (-1 when none), where its symbols start, and the symbols.
    max_code: [i32; 17],
    value_offset: [i32; 17],
    symbols: Vec<u8>,
    /// For an AC table and the next `RUN_LOOKAHEAD` bits: the whole AC
    /// symbols (codes and extra bits) they hold, as [`Run`]s.
    runs: Vec<u16>,
}

/// Bits looked at at once to skip several AC symbols.
const RUN_LOOKAHEAD: u32 = 12;

/// The AC symbols skipped with one lookup, packed in a `u16`: the bits they
/// take (0: not even one fits, step symbol by symbol), whether the last is
/// the end of the block, and how many positions the others move.
struct Run;

impl Run {
    const BITS: u16 = 0x0F;
    const END_OF_BLOCK: u16 = 0x10;
    const ADVANCE_SHIFT: u16 = 5;
}

#[derive(Clone, Copy, Default)]
struct FastEntry {
    code_len: u8,
    extra_bits: u8,
    /// The code and its extra bits: all an AC symbol needs skipped.
    total: u8,
    advance: u8,
}

impl FastEntry {
    fn of(code_len: u8, symbol: u8) -> FastEntry {
        let (run, size) = (symbol >> 4, symbol & 0x0F);
        FastEntry {
            code_len,
            extra_bits: size,
            total: code_len + size,
            // (r, 0) for r < 15 ends the block, as libjpeg reads it.
            advance: match (run, size) {
                (15, 0) => 16,
                (_, 0) => 0,
                _ => run + 1,
            },
        }
    }
}

impl Huffman {
    fn new(counts: &[u8; 16], symbols: Vec<u8>, ac: bool) -> Option<Huffman> {
        // The tables libjpeg refuses: over 256 symbols, a DC size over 15.
        if counts.iter().map(|c| usize::from(*c)).sum::<usize>() != symbols.len()
            || symbols.len() > 256
            || (!ac && symbols.iter().any(|s| *s > 15))
        {
            return None;
        }
        let mut fast = vec![FastEntry::default(); 1 << LOOKAHEAD];
        let mut max_code = [-1i32; 17];
        let mut value_offset = [0i32; 17];
        let mut code: u32 = 0;
        let mut index = 0usize;
        for length in 1..=16u32 {
            let count = usize::from(counts[length as usize - 1]);
            value_offset[length as usize] = index as i32 - code as i32;
            for _ in 0..count {
                let symbol = *symbols.get(index)?;
                if length <= LOOKAHEAD {
                    let entry = FastEntry::of(length as u8, symbol);
                    let shift = LOOKAHEAD - length;
                    let first = (code << shift) as usize;
                    for slot in fast.get_mut(first..first + (1 << shift))? {
                        *slot = entry;
                    }
                }
                code += 1;
                index += 1;
            }
            if count > 0 {
                max_code[length as usize] = code as i32 - 1;
            }
            // A code that overflows its length (or is all ones) means a bad
            // table, as in libjpeg's `jpeg_make_d_derived_tbl`.
            if code >= (1 << length) {
                return None;
            }
            code <<= 1;
        }
        let mut table = Huffman {
            fast,
            max_code,
            value_offset,
            symbols,
            runs: Vec::new(),
        };
        if ac {
            table.runs = (0..1u32 << RUN_LOOKAHEAD)
                .map(|window| table.run_in(window))
                .collect();
        }
        Some(table)
    }

    /// The symbol of the code of `length` bits at `code`, if there is one.
    fn canonical(&self, code: u32, length: u32) -> Option<u8> {
        let length = length as usize;
        if code as i32 <= self.max_code[length] {
            let index = self.value_offset[length] + code as i32;
            self.symbols.get(usize::try_from(index).ok()?).copied()
        } else {
            None
        }
    }

    /// The [`Run`] of whole AC symbols at the start of `window`.
    fn run_in(&self, window: u32) -> u16 {
        let (mut used, mut advance) = (0u32, 0u32);
        'symbols: while used < RUN_LOOKAHEAD {
            let left = RUN_LOOKAHEAD - used;
            for length in 1..=left {
                let code = (window >> (left - length)) & ((1 << length) - 1);
                let Some(symbol) = self.canonical(code, length) else {
                    continue;
                };
                let entry = FastEntry::of(length as u8, symbol);
                if u32::from(entry.total) > left {
                    break 'symbols;
                }
                if entry.advance == 0 {
                    return (used + u32::from(entry.total)) as u16
                        | Run::END_OF_BLOCK
                        | (advance as u16) << Run::ADVANCE_SHIFT;
                }
                if advance + u32::from(entry.advance) > 63 {
                    break 'symbols;
                }
                used += u32::from(entry.total);
                advance += u32::from(entry.advance);
                continue 'symbols;
            }
            break;
        }
        used as u16 | (advance as u16) << Run::ADVANCE_SHIFT
    }
}

/// The entropy-coded data with the 0xFF 0x00 stuffing undone, and where
/// each restart interval starts in it. The scan ends at the first marker that
/// is not a restart marker.
struct EntropyData {
    bytes: Vec<u8>,
    /// The start of each interval; the last entry is the end of the data.
    interval_starts: Vec<usize>,
}

impl EntropyData {
    /// `None` when the restart markers are not the `intervals - 1` that
    /// `intervals` restart intervals have, numbered 0 to 7 in turn.
    fn unstuff(data: &[u8], intervals: usize) -> Option<EntropyData> {
        let mut bytes = Vec::with_capacity(data.len() + 8);
        let mut interval_starts = vec![0];
        let mut rest = data;
        while let Some(at) = memchr::memchr(0xFF, rest) {
            bytes.extend_from_slice(&rest[..at]);
            match rest.get(at + 1) {
                Some(0x00) => {
                    bytes.push(0xFF);
                    rest = &rest[at + 2..];
                }
                Some(&marker @ 0xD0..=0xD7) => {
                    let expected = 0xD0 + ((interval_starts.len() - 1) % 8) as u8;
                    if marker != expected || interval_starts.len() >= intervals {
                        return None;
                    }
                    interval_starts.push(bytes.len());
                    rest = &rest[at + 2..];
                }
                // Fill bytes before a marker.
                Some(0xFF) => rest = &rest[at + 1..],
                _ => {
                    rest = &[];
                    break;
                }
            }
        }
        bytes.extend_from_slice(rest);
        if interval_starts.len() != intervals {
            return None;
        }
        interval_starts.push(bytes.len());
        // Room for the reader's eight-byte loads past the end.
        bytes.extend_from_slice(&[0; 8]);
        Some(EntropyData {
            bytes,
            interval_starts,
        })
    }
}

/// Reads the unstuffed data MSB first, eight bytes at a time (the refill of
/// F. Giesen's "Reading bits in far too many ways", variant 4).
struct Bits<'a> {
    data: &'a [u8],
    /// The next byte to load.
    position: usize,
    buffer: u64,
    count: u32,
    /// A code no table has, or a block longer than 64 coefficients.
    corrupt: bool,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits {
            data,
            position: 0,
            buffer: 0,
            count: 0,
            corrupt: false,
        }
    }

    /// Whether more bits were used than the data up to `end` holds.
    fn read_past(&self, end: usize) -> bool {
        self.position * 8 - self.count as usize > end * 8
    }

    /// Whether the data up to `end` was read but for its padding (under a
    /// byte): anything else is a walk out of step with the codes.
    fn ended_at(&self, end: usize) -> bool {
        let used = self.position * 8 - self.count as usize;
        used <= end * 8 && used + 8 > end * 8
    }

    #[inline(always)]
    fn refill(&mut self) {
        let word = match self.data.get(self.position..self.position + 8) {
            Some(eight) => u64::from_be_bytes(eight.try_into().unwrap_or([0; 8])),
            // Past the end (and its padding): zeros, which `read_past` catches.
            None => 0,
        };
        self.buffer |= word >> self.count;
        self.position += ((63 - self.count) >> 3) as usize;
        self.count |= 56;
    }

    #[inline(always)]
    fn peek(&self, n: u32) -> u32 {
        (self.buffer >> (64 - n)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buffer <<= n;
        self.count -= n;
    }

    /// The next `n` bits as a table index, refilled first so that what the
    /// entry says to skip (at most 16 + 15 bits) is in the buffer.
    #[inline(always)]
    fn window(&mut self, n: u32) -> usize {
        if self.count < 32 {
            self.refill();
        }
        self.peek(n) as usize
    }

    /// The next Huffman code's entry.
    #[inline(always)]
    fn symbol(&mut self, table: &Huffman) -> FastEntry {
        let at = self.window(LOOKAHEAD);
        let entry = table.fast.get(at).copied().unwrap_or_default();
        if entry.code_len != 0 {
            return entry;
        }
        self.slow_symbol(table)
    }

    #[cold]
    fn slow_symbol(&mut self, table: &Huffman) -> FastEntry {
        let word = self.peek(16);
        for length in (LOOKAHEAD + 1)..=16 {
            if let Some(symbol) = table.canonical(word >> (16 - length), length) {
                return FastEntry::of(length as u8, symbol);
            }
        }
        self.corrupt = true;
        FastEntry {
            code_len: 16,
            extra_bits: 0,
            total: 16,
            advance: 0,
        }
    }

    /// A block's DC difference from the block before it.
    #[inline(always)]
    fn dc_difference(&mut self, table: &Huffman) -> i32 {
        let dc = self.symbol(table);
        // The extra bits read from behind the code, so that the buffer
        // shifts once (each shift waits on the one before).
        let size = u32::from(dc.extra_bits).min(16);
        let extra = if size == 0 {
            0
        } else {
            ((self.buffer << dc.code_len) >> (64 - size)) as u32
        };
        self.consume(u32::from(dc.code_len) + size);
        extend(extra, size)
    }

    /// Walks a block's AC codes to its end, several symbols per lookup where
    /// they fit in the window and stay inside the block.
    #[inline(always)]
    fn skip_ac(&mut self, table: &Huffman) {
        let mut k = 1u32;
        loop {
            let at = self.window(RUN_LOOKAHEAD);
            let run = table.runs.get(at).copied().unwrap_or(0);
            let (used, advance) = (run & Run::BITS, run >> Run::ADVANCE_SHIFT);
            if used != 0 && k + u32::from(advance) <= 63 {
                self.consume(u32::from(used));
                k += u32::from(advance);
                if run & Run::END_OF_BLOCK != 0 {
                    return;
                }
                continue;
            }
            let ac = self.symbol(table);
            self.consume(u32::from(ac.total));
            if ac.advance == 0 {
                return;
            }
            k += u32::from(ac.advance);
            if k >= 64 {
                if k > 64 {
                    self.corrupt = true;
                }
                return;
            }
        }
    }

    /// Starts reading the interval beginning at `start`.
    fn restart(&mut self, start: usize) {
        self.position = start;
        self.buffer = 0;
        self.count = 0;
    }
}

/// The value of `size` extra bits (JPEG's EXTEND).
#[inline(always)]
fn extend(bits: u32, size: u32) -> i32 {
    if size == 0 {
        0
    } else if bits < (1 << (size - 1)) {
        bits as i32 - (1 << size) + 1
    } else {
        bits as i32
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(*bytes.get(at)?) << 8 | usize::from(*bytes.get(at + 1)?))
}

/// A Huffman table as defined: built only once a scan uses it, so that a file
/// of many definitions costs no more than reading them.
type TableSpec = ([u8; 16], Vec<u8>);

/// The photo at 1/8 of its size (each side rounded up), as libjpeg-turbo's
/// 1/8 decode gives it but for the colour of the chroma's edges; `None` for
/// what is not read here (see the module's documentation), and when its frame
/// is not `checked` (width, height: the dimensions that passed the limits).
pub fn decode(bytes: &[u8], checked: (u32, u32)) -> Option<DynamicImage> {
    let mut quant: [Option<u16>; 4] = [None; 4];
    let mut dc_tables: [Option<TableSpec>; 4] = Default::default();
    let mut ac_tables: [Option<TableSpec>; 4] = Default::default();
    let mut frame: Option<Frame> = None;
    let mut restart_interval = 0usize;
    let mut adobe_transform = None;
    if bytes.get(0..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2usize;
    loop {
        // Fill bytes may precede a marker.
        while *bytes.get(at)? == 0xFF && *bytes.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        let length = be16(bytes, at + 2)?;
        let segment = bytes.get(at + 4..at + 2 + length)?;
        match marker {
            0xDB => read_quant_tables(segment, &mut quant)?,
            0xC4 => read_huffman_tables(segment, &mut dc_tables, &mut ac_tables)?,
            0xDD => restart_interval = be16(segment, 0)?,
            0xEE if segment.starts_with(b"Adobe") && segment.len() > 11 => {
                adobe_transform = segment.get(11).copied()
            }
            // A second frame header is an error to libjpeg-turbo too; and
            // the planes are sized from no other dimensions than those checked.
            0xC0 | 0xC1 if frame.is_some() => return None,
            0xC0 | 0xC1 => {
                let read = read_frame(segment)?;
                if (read.width, read.height) != (checked.0 as usize, checked.1 as usize) {
                    return None;
                }
                frame = Some(read);
            }
            // Markers without a length (or none at all) do not belong here.
            0x00 | 0x01 | 0xD0..=0xD8 => return None,
            // Progressive, lossless, arithmetic coding, hierarchical.
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xDA => {
                let mut frame = frame?;
                // Three components stored as RGB, not YCbCr (as libjpeg tells them).
                let ids: Vec<u8> = frame.components.iter().map(|c| c.id).collect();
                if ids.len() == 3 && (adobe_transform == Some(0) || ids == b"RGB") {
                    return None;
                }
                frame.restart_interval = restart_interval;
                read_scan_header(segment, &mut frame)?;
                let data = bytes.get(at + 2 + length..)?;
                return decode_scan(&frame, &quant, &dc_tables, &ac_tables, data);
            }
            0xD9 => return None,
            _ => {}
        }
        at += 2 + length;
    }
}

fn read_quant_tables(mut segment: &[u8], quant: &mut [Option<u16>; 4]) -> Option<()> {
    while let Some(&info) = segment.first() {
        let (precision, id) = (info >> 4, usize::from(info & 0x0F));
        let table = quant.get_mut(id)?;
        let size = if precision == 0 { 64 } else { 128 };
        let values = segment.get(1..1 + size)?;
        // Only the DC entry (the first, in zig-zag order too) is used.
        *table = Some(if precision == 0 {
            u16::from(values[0])
        } else {
            u16::from(values[0]) << 8 | u16::from(values[1])
        });
        segment = &segment[1 + size..];
    }
    Some(())
}

fn read_huffman_tables(
    mut segment: &[u8],
    dc_tables: &mut [Option<TableSpec>; 4],
    ac_tables: &mut [Option<TableSpec>; 4],
) -> Option<()> {
    while let Some(&info) = segment.first() {
        let (class, id) = (info >> 4, usize::from(info & 0x0F));
        let counts: [u8; 16] = segment.get(1..17)?.try_into().ok()?;
        let total: usize = counts.iter().map(|c| usize::from(*c)).sum();
        let symbols = segment.get(17..17 + total)?.to_vec();
        let table = (counts, symbols);
        match class {
            0 => *dc_tables.get_mut(id)? = Some(table),
            1 => *ac_tables.get_mut(id)? = Some(table),
            _ => return None,
        }
        segment = &segment[17 + total..];
    }
    Some(())
}

fn read_frame(segment: &[u8]) -> Option<Frame> {
    if *segment.first()? != 8 {
        return None;
    }
    let height = be16(segment, 1)?;
    let width = be16(segment, 3)?;
    let count = usize::from(*segment.get(5)?);
    if width == 0 || height == 0 || !(count == 1 || count == 3) {
        return None;
    }
    let mut components = Vec::with_capacity(count);
    for index in 0..count {
        let at = 6 + 3 * index;
        let sampling = *segment.get(at + 1)?;
        let (h, v) = (usize::from(sampling >> 4), usize::from(sampling & 0x0F));
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
            return None;
        }
        components.push(Component {
            id: *segment.get(at)?,
            h,
            v,
            quant_table: usize::from(*segment.get(at + 2)?),
            dc_table: 0,
            ac_table: 0,
        });
    }
    Some(Frame {
        width,
        height,
        components,
        restart_interval: 0,
    })
}

/// The scan must hold every component, in the frame's order.
fn read_scan_header(segment: &[u8], frame: &mut Frame) -> Option<()> {
    let count = usize::from(*segment.first()?);
    if count != frame.components.len() {
        return None;
    }
    for (index, component) in frame.components.iter_mut().enumerate() {
        let id = *segment.get(1 + 2 * index)?;
        let tables = *segment.get(2 + 2 * index)?;
        if id != component.id {
            return None;
        }
        component.dc_table = usize::from(tables >> 4);
        component.ac_table = usize::from(tables & 0x0F);
    }
    let spectral_start = *segment.get(1 + 2 * count)?;
    let spectral_end = *segment.get(2 + 2 * count)?;
    let approximation = *segment.get(3 + 2 * count)?;
    (spectral_start == 0 && spectral_end == 63 && approximation == 0).then_some(())
}

fn decode_scan(
    frame: &Frame,
    quant: &[Option<u16>; 4],
    dc_specs: &[Option<TableSpec>; 4],
    ac_specs: &[Option<TableSpec>; 4],
    data: &[u8],
) -> Option<DynamicImage> {
    let build = |specs: &[Option<TableSpec>; 4], id: usize, ac: bool| -> Option<Huffman> {
        let (counts, symbols) = specs.get(id)?.as_ref()?;
        Huffman::new(counts, symbols.clone(), ac)
    };
    let mut dc_tables: [Option<Huffman>; 4] = Default::default();
    let mut ac_tables: [Option<Huffman>; 4] = Default::default();
    for component in &frame.components {
        if dc_tables.get(component.dc_table)?.is_none() {
            dc_tables[component.dc_table] = Some(build(dc_specs, component.dc_table, false)?);
        }
        if ac_tables.get(component.ac_table)?.is_none() {
            ac_tables[component.ac_table] = Some(build(ac_specs, component.ac_table, true)?);
        }
    }
    let h_max = frame.components.iter().map(|c| c.h).max()?;
    let v_max = frame.components.iter().map(|c| c.v).max()?;
    // A single-component scan is not interleaved: one block per MCU, over
    // the component's own block grid.
    let single = frame.components.len() == 1;
    let (mcus_across, mcus_down) = if single {
        (frame.width.div_ceil(8), frame.height.div_ceil(8))
    } else {
        (
            frame.width.div_ceil(8 * h_max),
            frame.height.div_ceil(8 * v_max),
        )
    };
    struct Plane<'t> {
        component: Component,
        dc_table: &'t Huffman,
        ac_table: &'t Huffman,
        dc_quant: i32,
        blocks_across: usize,
        values: Vec<u8>,
        predictor: i32,
    }
    let mut planes = Vec::with_capacity(frame.components.len());
    for component in &frame.components {
        let (blocks_across, blocks_down) = if single {
            (mcus_across, mcus_down)
        } else {
            (mcus_across * component.h, mcus_down * component.v)
        };
        planes.push(Plane {
            component: *component,
            dc_table: dc_tables.get(component.dc_table)?.as_ref()?,
            ac_table: ac_tables.get(component.ac_table)?.as_ref()?,
            dc_quant: i32::from((*quant.get(component.quant_table)?)?),
            blocks_across,
            values: vec![0u8; blocks_across.checked_mul(blocks_down)?],
            predictor: 0,
        });
    }
    let intervals = match frame.restart_interval {
        0 => 1,
        every => (mcus_across * mcus_down).div_ceil(every),
    };
    let entropy = EntropyData::unstuff(data, intervals)?;
    // Every block takes at least two bits (its DC code and an end of block):
    // data too short for the frame is refused before it is walked.
    let blocks: usize = planes.iter().map(|p| p.values.len()).sum();
    if blocks > 4 * entropy.bytes.len() {
        return None;
    }
    let mut bits = Bits::new(&entropy.bytes);
    let mut interval = 0usize;
    let mut until_restart = frame.restart_interval;
    for mcu_row in 0..mcus_down {
        let interval_end = *entropy.interval_starts.get(interval + 1)?;
        if bits.corrupt || bits.read_past(interval_end) {
            return None;
        }
        for mcu_column in 0..mcus_across {
            if frame.restart_interval > 0 {
                if until_restart == 0 {
                    interval += 1;
                    let start = *entropy.interval_starts.get(interval)?;
                    if !bits.ended_at(start) {
                        return None;
                    }
                    bits.restart(start);
                    for plane in planes.iter_mut() {
                        plane.predictor = 0;
                    }
                    until_restart = frame.restart_interval;
                }
                until_restart -= 1;
            }
            for plane in planes.iter_mut() {
                let (h, v) = if single {
                    (1, 1)
                } else {
                    (plane.component.h, plane.component.v)
                };
                for dy in 0..v {
                    for dx in 0..h {
                        plane.predictor = plane
                            .predictor
                            .wrapping_add(bits.dc_difference(plane.dc_table));
                        bits.skip_ac(plane.ac_table);
                        // libjpeg's 1×1 inverse DCT: DESCALE(dc × q, 3) + 128.
                        let value = (plane.predictor.wrapping_mul(plane.dc_quant).wrapping_add(4)
                            >> 3)
                            + 128;
                        let index = (mcu_row * v + dy) * plane.blocks_across + mcu_column * h + dx;
                        if let Some(slot) = plane.values.get_mut(index) {
                            *slot = value.clamp(0, 255) as u8;
                        }
                    }
                }
            }
        }
    }
    let end = entropy.interval_starts.last().copied().unwrap_or(0);
    if bits.corrupt || !bits.ended_at(end) {
        return None;
    }
    let (width, height) = (frame.width.div_ceil(8), frame.height.div_ceil(8));
    let mut rgb = vec![0u8; width.checked_mul(height)?.checked_mul(3)?];
    // Where each output pixel's value sits in each plane, worked out once
    // (a division per pixel and plane was a tenth of the decode).
    let scale = |at: usize, factor: usize, max: usize| {
        if single {
            at
        } else {
            at * factor / max
        }
    };
    let columns: Vec<Vec<usize>> = planes
        .iter()
        .map(|plane| {
            (0..width)
                .map(|x| scale(x, plane.component.h, h_max))
                .collect()
        })
        .collect();
    for (y, out) in rgb.chunks_exact_mut(3 * width).enumerate() {
        // Each plane's row of values for output row `y` (empty if the plane
        // is short of it: those pixels read as mid-grey).
        let rows: Vec<&[u8]> = planes
            .iter()
            .map(|plane| {
                let start = scale(y, plane.component.v, v_max) * plane.blocks_across;
                plane
                    .values
                    .get(start..start + plane.blocks_across)
                    .unwrap_or(&[])
            })
            .collect();
        let value = |row: &[u8], columns: &[usize], x: usize| -> i32 {
            let column = columns.get(x).copied().unwrap_or(usize::MAX);
            i32::from(row.get(column).copied().unwrap_or(128))
        };
        match (rows.as_slice(), columns.as_slice()) {
            ([luma, cb, cr], [luma_columns, cb_columns, cr_columns]) => {
                for (x, pixel) in out.chunks_exact_mut(3).enumerate() {
                    pixel.copy_from_slice(&ycc_to_rgb(
                        value(luma, luma_columns, x),
                        value(cb, cb_columns, x) - 128,
                        value(cr, cr_columns, x) - 128,
                    ));
                }
            }
            ([luma, ..], [luma_columns, ..]) => {
                for (x, pixel) in out.chunks_exact_mut(3).enumerate() {
                    pixel.fill(value(luma, luma_columns, x) as u8);
                }
            }
            _ => {}
        }
    }
    RgbImage::from_raw(width as u32, height as u32, rgb).map(DynamicImage::ImageRgb8)
}

/// JFIF's YCbCr to RGB, in 16-bit fixed point as libjpeg does it.
fn ycc_to_rgb(y: i32, cb: i32, cr: i32) -> [u8; 3] {
    const ONE_HALF: i32 = 1 << 15;
    let r = y + ((91_881 * cr + ONE_HALF) >> 16);
    let g = y + ((-22_554 * cb - 46_802 * cr + ONE_HALF) >> 16);
    let b = y + ((116_130 * cb + ONE_HALF) >> 16);
    [
        r.clamp(0, 255) as u8,
        g.clamp(0, 255) as u8,
        b.clamp(0, 255) as u8,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devtools::synthetic::{jpeg, PaperPhoto, Scene};
    use crate::evidence::keypoints::work_image;
    use crate::evidence::photo::decode_eighth_with_libjpeg_turbo;
    use crate::evidence::similarity::{compare, Fingerprint, Resemblance};
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    /// The DC decode, given the dimensions the `image` crate reads from the
    /// header (as the server checks them against its limits).
    fn dc(bytes: &[u8]) -> Option<DynamicImage> {
        let checked = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .ok()
            .and_then(|reader| reader.into_dimensions().ok())
            .unwrap_or((0, 0));
        decode(bytes, checked)
    }

    fn paper(width: u32, height: u32) -> DynamicImage {
        let scene = Scene {
            seed: 7,
            paper_shift: (0, 0),
        };
        PaperPhoto::new(scene, 3).with_size(width, height).render()
    }

    /// The mean and the largest difference between the greys of two images.
    fn grey_difference(a: &DynamicImage, b: &DynamicImage) -> (f64, u8) {
        assert_eq!((a.width(), a.height()), (b.width(), b.height()));
        let (a, b) = (a.to_luma8(), b.to_luma8());
        let differences: Vec<u8> = a
            .as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .collect();
        let mean =
            differences.iter().map(|d| f64::from(*d)).sum::<f64>() / differences.len() as f64;
        (mean, differences.iter().copied().max().unwrap_or(0))
    }

    fn encoded(
        image: &DynamicImage,
        configure: impl FnOnce(&mut Encoder<&mut Vec<u8>>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, 90);
        configure(&mut encoder);
        let rgb = image.to_rgb8();
        encoder
            .encode(
                rgb.as_raw(),
                rgb.width() as u16,
                rgb.height() as u16,
                ColorType::Rgb,
            )
            .expect("jpeg-encoder writes it");
        out
    }

    #[test]
    fn a_phone_photo_at_one_eighth_is_what_libjpeg_turbo_makes_of_it() {
        let bytes = jpeg(&paper(4000, 3000), 90);
        let ours = dc(&bytes).expect("a baseline JPEG is read");
        let theirs = decode_eighth_with_libjpeg_turbo(&bytes).expect("libjpeg-turbo reads it");
        assert_eq!((ours.width(), ours.height()), (500, 375));
        // The `image` crate writes 4:4:4: no chroma to upsample, so these are
        // libjpeg-turbo's pixels to the bit, and the checks see what they saw.
        assert!(ours.as_bytes() == theirs.as_bytes(), "the pixels differ");
        let found = compare(
            &Fingerprint::of(&work_image(&ours)),
            &Fingerprint::of(&work_image(&theirs)),
        );
        assert!(
            matches!(found, Resemblance::Copy { score } if score >= 0.95),
            "the checks see the same paper: {found:?}"
        );
    }

    #[test]
    fn restart_markers_every_subsampling_and_grey_photos_are_read() {
        // Odd sizes: the last blocks and MCUs are partly padding.
        let image = paper(1203, 907);
        let variants: Vec<(&str, Vec<u8>)> = vec![
            (
                "4:2:0",
                encoded(&image, |e| e.set_sampling_factor(SamplingFactor::R_4_2_0)),
            ),
            (
                "4:2:2",
                encoded(&image, |e| e.set_sampling_factor(SamplingFactor::R_4_2_2)),
            ),
            (
                "4:4:4",
                encoded(&image, |e| e.set_sampling_factor(SamplingFactor::R_4_4_4)),
            ),
            (
                "4:2:0, a restart every 7 MCUs",
                encoded(&image, |e| {
                    e.set_sampling_factor(SamplingFactor::R_4_2_0);
                    e.set_restart_interval(7);
                }),
            ),
            (
                "4:4:4, a restart every MCU",
                encoded(&image, |e| {
                    e.set_sampling_factor(SamplingFactor::R_4_4_4);
                    e.set_restart_interval(1);
                }),
            ),
        ];
        for (name, bytes) in variants {
            let ours = dc(&bytes).unwrap_or_else(|| panic!("{name}: read"));
            let theirs = decode_eighth_with_libjpeg_turbo(&bytes).expect("libjpeg-turbo reads it");
            assert_eq!((ours.width(), ours.height()), (151, 114), "{name}");
            let (mean, largest) = grey_difference(&ours, &theirs);
            if name.starts_with("4:4:4") {
                assert!(
                    ours.as_bytes() == theirs.as_bytes(),
                    "{name}: the pixels differ"
                );
            }
            // 4:2:0: libjpeg-turbo decodes the chroma with a 2 × 2 inverse
            // DCT; here each chroma DC covers its four pixels.
            assert!(
                mean < 0.5 && largest <= 8,
                "{name}: grey differs by {mean} on average, {largest} at most"
            );
        }

        let mut grey_bytes = Vec::new();
        let grey = image.to_luma8();
        Encoder::new(&mut grey_bytes, 90)
            .encode(grey.as_raw(), 1203, 907, ColorType::Luma)
            .expect("grey JPEG");
        let ours = dc(&grey_bytes).expect("a grey JPEG is read");
        let theirs = decode_eighth_with_libjpeg_turbo(&grey_bytes).expect("libjpeg-turbo reads it");
        // One component: the 1×1 inverse DCT exactly.
        assert_eq!(grey_difference(&ours, &theirs), (0.0, 0));
    }

    #[test]
    fn what_is_not_read_here_is_left_to_libjpeg_turbo() {
        let image = paper(640, 480);
        let progressive = encoded(&image, |e| e.set_progressive(true));
        assert!(dc(&progressive).is_none(), "progressive");
        assert!(decode_eighth_with_libjpeg_turbo(&progressive).is_some());
        assert!(dc(b"\xFF\xD8 not a jpeg").is_none());
        assert!(dc(b"").is_none());
        let whole = jpeg(&image, 90);
        assert!(dc(&whole).is_some());
        assert!(
            dc(&whole[..whole.len() * 2 / 3]).is_none(),
            "a photo cut short is not decoded from zeros"
        );
        // A second frame header (here a copy of the first; it could claim
        // other dimensions than those checked): refused, as libjpeg-turbo does.
        let sof = whole
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("a baseline frame header");
        let length = usize::from(whole[sof + 2]) << 8 | usize::from(whole[sof + 3]);
        let mut two_frames = whole[..sof + 2 + length].to_vec();
        two_frames.extend_from_slice(&whole[sof..]);
        assert!(dc(&two_frames).is_none(), "two frame headers");
        assert!(
            decode(&whole, (640, 481)).is_none(),
            "a frame header that is not the one checked against the limits"
        );
        // Restart markers out of turn: the walk would be out of step.
        let restarts = encoded(&image, |e| e.set_restart_interval(3));
        assert!(dc(&restarts).is_some());
        let first = restarts
            .windows(2)
            .position(|w| w == [0xFF, 0xD0])
            .expect("a restart marker");
        let mut out_of_turn = restarts.clone();
        out_of_turn[first + 1] = 0xD1;
        assert!(dc(&out_of_turn).is_none(), "RST1 where RST0 belongs");
        assert!(decode_eighth_with_libjpeg_turbo(&two_frames).is_none());
    }

    #[test]
    fn damaged_photos_give_an_answer_and_never_a_panic() {
        let image = paper(640, 480);
        for bytes in [
            jpeg(&image, 90),
            encoded(&image, |e| e.set_restart_interval(3)),
        ] {
            let mut state = 0x2545_F491_4F6C_DD1Du64;
            for round in 0..300 {
                let mut damaged = bytes.clone();
                for _ in 0..(1 + round % 5) {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let at = (state % damaged.len() as u64) as usize;
                    damaged[at] = (state >> 32) as u8;
                }
                if let Some(decoded) = dc(&damaged) {
                    assert!(decoded.width() <= 8192 && decoded.height() <= 8192);
                }
            }
        }
    }
}
