//! The object formats of `CompressionFormat`: each compresses a delivered object as it is
//! written, a block at a time, so no object is held whole.
//!
//! - `UNCOMPRESSED`: the bytes as they are.
//! - `GZIP`: one gzip member (`.gz`, `Content-Encoding: gzip`).
//! - `ZIP`: a zip archive of one deflated entry named with the object's id (`.zip`).
//! - `Snappy`: the snappy-java stream format (`.snappy`): the header `0x82 "SNAPPY" 0x00`, the
//!   version and the compatible version (big-endian 32-bit 1 and 1), then for each block of at
//!   most 32 KiB its compressed length (big-endian 32-bit) and its raw snappy bytes.
//! - `HADOOP_SNAPPY`: Hadoop's block format (`.snappy`): for each block of at most 256 KiB its
//!   length (big-endian 32-bit), then its compressed length and its raw snappy bytes.
//!
//! The extensions and encodings of the last three follow what Floci probed on AWS (not verified
//! here); docs/compatibility.md says so.

use serde::{Deserialize, Serialize};
use std::io::{self, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Compression {
    #[default]
    #[serde(rename = "UNCOMPRESSED")]
    Uncompressed,
    #[serde(rename = "GZIP")]
    Gzip,
    #[serde(rename = "ZIP")]
    Zip,
    #[serde(rename = "Snappy")]
    Snappy,
    #[serde(rename = "HADOOP_SNAPPY")]
    HadoopSnappy,
    /// Kinesis channels' `ZSTD` (Firehose has none): one zstd frame.
    #[serde(rename = "ZSTD")]
    Zstd,
}

impl Compression {
    pub fn parse(s: &str) -> Option<Compression> {
        Some(match s {
            "UNCOMPRESSED" => Compression::Uncompressed,
            "GZIP" => Compression::Gzip,
            "ZIP" => Compression::Zip,
            "Snappy" => Compression::Snappy,
            "HADOOP_SNAPPY" => Compression::HadoopSnappy,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Uncompressed => "UNCOMPRESSED",
            Compression::Gzip => "GZIP",
            Compression::Zip => "ZIP",
            Compression::Snappy => "Snappy",
            Compression::HadoopSnappy => "HADOOP_SNAPPY",
            Compression::Zstd => "ZSTD",
        }
    }

    /// The file extension of an object in this format (a `FileExtension` replaces it).
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Uncompressed => "",
            Compression::Gzip => ".gz",
            Compression::Zip => ".zip",
            Compression::Snappy | Compression::HadoopSnappy => ".snappy",
            Compression::Zstd => ".zst",
        }
    }

    /// The object's Content-Encoding.
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::Uncompressed => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zip => Some("zip"),
            Compression::Snappy => Some("snappy-java"),
            Compression::HadoopSnappy => Some("hadoop-snappy"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// A writer that compresses into `W`; [`Encoder::finish`] writes the format's end and hands
/// `W` back.
pub enum Encoder<W: Write> {
    Plain(W),
    Gzip(Box<flate2::write::GzEncoder<W>>),
    Zip(Box<zip::ZipWriter<zip::write::StreamWriter<W>>>),
    Blocks(Box<BlockWriter<W>>),
    Zstd(Box<zstd::stream::write::Encoder<'static, W>>),
}

impl<W: Write> Encoder<W> {
    /// `entry` names the one entry of a ZIP archive.
    pub fn new(format: Compression, mut out: W, entry: &str) -> io::Result<Encoder<W>> {
        Ok(match format {
            Compression::Uncompressed => Encoder::Plain(out),
            Compression::Gzip => Encoder::Gzip(Box::new(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::default(),
            ))),
            Compression::Zip => {
                let mut z = zip::ZipWriter::new_stream(out);
                let opts =
                    zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
                z.start_file(entry, opts).map_err(io::Error::other)?;
                Encoder::Zip(Box::new(z))
            }
            Compression::Snappy => {
                out.write_all(&SNAPPY_JAVA_HEADER)?;
                out.write_all(&1u32.to_be_bytes())?;
                out.write_all(&1u32.to_be_bytes())?;
                Encoder::Blocks(Box::new(BlockWriter::new(out, 32 * 1024, false)))
            }
            Compression::HadoopSnappy => Encoder::Blocks(Box::new(BlockWriter::new(out, 256 * 1024, true))),
            Compression::Zstd => Encoder::Zstd(Box::new(zstd::stream::write::Encoder::new(out, 3)?)),
        })
    }

    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(g) => g.finish(),
            Encoder::Zip(z) => Ok(z.finish().map_err(io::Error::other)?.into_inner()),
            Encoder::Blocks(b) => (*b).finish(),
            Encoder::Zstd(z) => z.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(g) => g.write(buf),
            Encoder::Zip(z) => z.write(buf),
            Encoder::Blocks(b) => b.write(buf),
            Encoder::Zstd(z) => z.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The snappy-java stream's magic header.
pub const SNAPPY_JAVA_HEADER: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

/// Raw snappy blocks with big-endian lengths: snappy-java's (compressed length only) or
/// Hadoop's (uncompressed, then compressed length).
pub struct BlockWriter<W: Write> {
    out: W,
    block: Vec<u8>,
    size: usize,
    hadoop: bool,
    encoder: snap::raw::Encoder,
}

impl<W: Write> BlockWriter<W> {
    fn new(out: W, size: usize, hadoop: bool) -> BlockWriter<W> {
        BlockWriter {
            out,
            block: Vec::with_capacity(size),
            size,
            hadoop,
            encoder: snap::raw::Encoder::new(),
        }
    }

    fn emit(&mut self) -> io::Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let compressed = self.encoder.compress_vec(&self.block).map_err(io::Error::other)?;
        if self.hadoop {
            self.out.write_all(&len32(self.block.len())?)?;
        }
        self.out.write_all(&len32(compressed.len())?)?;
        self.out.write_all(&compressed)?;
        self.block.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.emit()?;
        Ok(self.out)
    }
}

fn len32(n: usize) -> io::Result<[u8; 4]> {
    u32::try_from(n)
        .map(u32::to_be_bytes)
        .map_err(|_| io::Error::other("a block is too large"))
}

impl<W: Write> Write for BlockWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.size - self.block.len();
        let n = room.min(buf.len());
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == self.size {
            self.emit()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Decodes the two block formats (for tests and tools): the bytes they hold.
pub fn decode_blocks(mut data: &[u8], format: Compression) -> io::Result<Vec<u8>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "a truncated snappy stream");
    let mut out = Vec::new();
    if format == Compression::Snappy {
        if data.get(..8) != Some(&SNAPPY_JAVA_HEADER[..]) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "no snappy-java header"));
        }
        data = data.get(16..).ok_or_else(bad)?;
    }
    let take = |n: usize, data: &mut &[u8]| -> io::Result<Vec<u8>> {
        let (a, b) = (data.get(..n).ok_or_else(bad)?.to_vec(), data.get(n..).ok_or_else(bad)?);
        *data = b;
        Ok(a)
    };
    let be = |b: Vec<u8>| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    while !data.is_empty() {
        if format == Compression::HadoopSnappy {
            take(4, &mut data)?;
        }
        let n = be(take(4, &mut data)?);
        let block = take(n, &mut data)?;
        out.extend(
            snap::raw::Decoder::new()
                .decompress_vec(&block)
                .map_err(io::Error::other)?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn encode(format: Compression, data: &[u8]) -> Vec<u8> {
        let mut e = Encoder::new(format, Vec::new(), "entry").unwrap();
        for chunk in data.chunks(7000) {
            e.write_all(chunk).unwrap();
        }
        e.finish().unwrap()
    }

    fn sample() -> Vec<u8> {
        (0..300_000u32)
            .flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes())
            .collect()
    }

    #[test]
    fn gzip_and_zip_read_back_with_their_decoders() {
        let data = sample();
        let gz = encode(Compression::Gzip, &data);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        let zs = encode(Compression::Zstd, &data);
        assert_eq!(zstd::stream::decode_all(&zs[..]).unwrap(), data);
        let z = encode(Compression::Zip, &data);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(z)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "entry");
        let mut back = Vec::new();
        entry.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn snappy_formats_round_trip() {
        let data = sample();
        for f in [Compression::Snappy, Compression::HadoopSnappy] {
            let enc = encode(f, &data);
            assert!(enc.len() < data.len() / 2);
            assert_eq!(decode_blocks(&enc, f).unwrap(), data);
        }
        let enc = encode(Compression::Snappy, b"");
        assert_eq!(enc.len(), 16);
        assert!(decode_blocks(&enc[..10], Compression::Snappy).is_err());
    }
}
