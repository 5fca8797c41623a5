//! A chunk's downloaded lines, kept in memory up to a limit and in an anonymous temporary file beyond it.
//!
//! The chunked exporter must hold each chunk until it is complete (so a broken download can be discarded) and
//! until every earlier chunk has been written (so the output stays in date order). Memory is bounded by giving
//! each chunk a memory limit; the rest of a large chunk goes to a temporary file, which the operating system
//! deletes when it is dropped, even if the process is killed.

use std::io::SeekFrom;
use std::path::PathBuf;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// The size of reads and of the write buffer in front of a spill file.
pub(crate) const BLOCK_SIZE: usize = 256 * 1024;

/// Where a chunk goes while it downloads.
///
/// Lines are appended to a buffer; while the chunk fits its memory limit the buffer is the chunk, and once it
/// does not, the buffer is written to an anonymous temporary file and from then on works as a write buffer of
/// about [`BLOCK_SIZE`], so each line costs one copy and the file sees large writes only.
#[derive(Debug)]
pub(crate) struct SpillWriter {
    buffer: Vec<u8>,
    memory_limit: usize,
    dir: Option<PathBuf>,
    file: Option<tokio::fs::File>,
    len: u64,
}

impl SpillWriter {
    /// A writer keeping up to `memory_limit` bytes in memory; spill files go to `dir` (or the system's temporary
    /// directory as `tempfile` picks it).
    pub(crate) fn new(memory_limit: usize, dir: Option<PathBuf>) -> SpillWriter {
        SpillWriter {
            buffer: Vec::new(),
            memory_limit,
            dir,
            file: None,
            len: 0,
        }
    }

    /// Appends `line` and a newline.
    pub(crate) async fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        let n_bytes = line.len() + 1;
        if self.file.is_none() {
            if self.buffer.len() + n_bytes > self.memory_limit {
                self.spill().await?;
            } else if self.buffer.capacity() == 0 {
                // Reserve the whole share at once (up to 64 MiB): growing by doubling would briefly hold up to
                // three times the data, and the pages of an untouched reservation cost no memory.
                self.buffer.reserve_exact(self.memory_limit.min(64 << 20));
            }
        }
        self.buffer.extend_from_slice(line);
        self.buffer.push(b'\n');
        self.len += n_bytes as u64;
        if let Some(file) = &mut self.file
            && self.buffer.len() >= BLOCK_SIZE
        {
            file.write_all(&self.buffer).await?;
            self.buffer.clear();
        }
        Ok(())
    }

    /// Moves what is in memory to a new temporary file; later lines go there too.
    async fn spill(&mut self) -> std::io::Result<()> {
        let dir = self.dir.clone();
        // Creating the file is a blocking call.
        let file = tokio::task::spawn_blocking(move || match dir {
            Some(dir) => tempfile::tempfile_in(dir),
            None => tempfile::tempfile(),
        })
        .await
        .map_err(std::io::Error::other)??;
        let mut file = tokio::fs::File::from_std(file);
        file.write_all(&self.buffer).await?;
        // Give the memory back now (the point of spilling) and keep a write buffer of one block.
        self.buffer = Vec::with_capacity(BLOCK_SIZE + BLOCK_SIZE / 4);
        self.file = Some(file);
        Ok(())
    }

    /// Finishes writing; the chunk can then be read back from its start.
    pub(crate) async fn finish(mut self) -> std::io::Result<Spilled> {
        let file = match self.file.take() {
            None => None,
            Some(mut file) => {
                file.write_all(&self.buffer).await?;
                file.flush().await?;
                self.buffer = Vec::new();
                file.seek(SeekFrom::Start(0)).await?;
                Some(file)
            }
        };
        Ok(Spilled {
            memory: Bytes::from(self.buffer),
            file,
            len: self.len,
        })
    }
}

/// A complete chunk: its lines (each ending with `\n`), in memory or in a temporary file.
#[derive(Debug)]
pub(crate) struct Spilled {
    memory: Bytes,
    file: Option<tokio::fs::File>,
    len: u64,
}

impl Spilled {
    /// The chunk's size in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Bytes held in memory (the rest is on disk).
    #[cfg(test)]
    pub(crate) fn memory_len(&self) -> usize {
        self.memory.len()
    }

    /// Returns true if and only if part of the chunk is in a temporary file.
    pub(crate) fn is_on_disk(&self) -> bool {
        self.file.is_some()
    }

    /// A reader of the chunk from its start.
    pub(crate) fn into_reader(self) -> SpilledReader {
        SpilledReader {
            memory: self.memory,
            offset: 0,
            file: self.file,
            buffer: Vec::new(),
        }
    }
}

/// Reads a [`Spilled`] chunk in blocks of at most [`BLOCK_SIZE`] bytes.
#[derive(Debug)]
pub(crate) struct SpilledReader {
    memory: Bytes,
    offset: usize,
    file: Option<tokio::fs::File>,
    buffer: Vec<u8>,
}

impl SpilledReader {
    /// The next block, `None` at the end.
    pub(crate) async fn next_block(&mut self) -> Result<Option<&[u8]>, crate::Error> {
        match &mut self.file {
            None => {
                if self.offset >= self.memory.len() {
                    return Ok(None);
                }
                let end = (self.offset + BLOCK_SIZE).min(self.memory.len());
                let block = &self.memory[self.offset..end];
                self.offset = end;
                Ok(Some(block))
            }
            Some(file) => {
                self.buffer.resize(BLOCK_SIZE, 0);
                let n_read = file.read(&mut self.buffer).await.map_err(|source| {
                    crate::Error::io(
                        "reading a downloaded chunk back from its temporary file",
                        source,
                    )
                })?;
                if n_read == 0 {
                    return Ok(None);
                }
                Ok(Some(&self.buffer[..n_read]))
            }
        }
    }
}
