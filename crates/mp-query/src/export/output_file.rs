//! [`OutputFile`]: an export's output file that only gets its name once it is complete.
//!
//! Events go to `FILE.partial`; the checkpoint of a chunked export lives in `FILE.checkpoint`. Only
//! [`OutputFile::commit`] (after the export succeeded) renames the partial file to `FILE`, so a failed or killed
//! export never leaves a file that looks finished. Both side files have fixed names so that a rerun with resume
//! finds them: [`OutputFile::resume`] truncates the partial file to the length the checkpoint recorded and
//! continues from there.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncSeekExt, AsyncWrite, AsyncWriteExt};

use crate::{Checkpoint, Error};

/// An export's output file, written under a temporary name and renamed when complete.
#[derive(Debug)]
pub struct OutputFile {
    path: PathBuf,
    partial_path: PathBuf,
    checkpoint_path: PathBuf,
    file: tokio::fs::File,
}

impl OutputFile {
    /// Starts a fresh output for `path`: creates (or empties) `path.partial` and removes any stale
    /// `path.checkpoint`.
    pub async fn create(path: impl AsRef<Path>) -> Result<OutputFile, Error> {
        let (path, partial_path, checkpoint_path) = side_paths(path.as_ref());
        remove_if_present(&checkpoint_path).await?;
        let file = tokio::fs::File::create(&partial_path)
            .await
            .map_err(|source| {
                Error::io(format!("creating `{}`", partial_path.display()), source)
            })?;
        Ok(OutputFile {
            path,
            partial_path,
            checkpoint_path,
            file,
        })
    }

    /// Continues the output a killed or failed export left behind: returns the file positioned after the last
    /// completed chunk, with its checkpoint to hand to [`crate::ChunkedOptions::resume`]. Without a checkpoint
    /// (or without a partial file) this is [`OutputFile::create`] and the checkpoint is `None`.
    pub async fn resume(path: impl AsRef<Path>) -> Result<(OutputFile, Option<Checkpoint>), Error> {
        let (path, partial_path, checkpoint_path) = side_paths(path.as_ref());
        let checkpoint = Checkpoint::load(&checkpoint_path).await?;
        let Some(checkpoint) = checkpoint else {
            return Ok((OutputFile::create(&path).await?, None));
        };
        let file = match tokio::fs::OpenOptions::new()
            .write(true)
            .open(&partial_path)
            .await
        {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok((OutputFile::create(&path).await?, None));
            }
            Err(source) => {
                return Err(Error::io(
                    format!("opening `{}`", partial_path.display()),
                    source,
                ));
            }
        };
        let len = file
            .metadata()
            .await
            .map_err(|source| Error::io(format!("reading `{}`", partial_path.display()), source))?
            .len();
        if len < checkpoint.output_bytes() {
            return Err(Error::Checkpoint {
                reason: format!(
                    "`{}` has {len} bytes, fewer than the {} the checkpoint recorded; remove both files to \
                     start over",
                    partial_path.display(),
                    checkpoint.output_bytes()
                ),
            });
        }
        // Whatever follows the checkpoint is part of a chunk that was not finished: drop it.
        file.set_len(checkpoint.output_bytes())
            .await
            .map_err(|source| {
                Error::io(format!("truncating `{}`", partial_path.display()), source)
            })?;
        let mut output = OutputFile {
            path,
            partial_path,
            checkpoint_path,
            file,
        };
        output
            .file
            .seek(std::io::SeekFrom::End(0))
            .await
            .map_err(|source| {
                Error::io(
                    format!("seeking in `{}`", output.partial_path.display()),
                    source,
                )
            })?;
        Ok((output, Some(checkpoint)))
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where events go until the export is complete: `FILE.partial`.
    pub fn partial_path(&self) -> &Path {
        &self.partial_path
    }

    /// Where the checkpoint goes: `FILE.checkpoint` (for [`crate::ChunkedOptions::checkpoint_path`]).
    pub fn checkpoint_path(&self) -> &Path {
        &self.checkpoint_path
    }

    /// Flushes, syncs and renames the partial file to the final path, then removes the checkpoint.
    pub async fn commit(mut self) -> Result<PathBuf, Error> {
        self.file
            .flush()
            .await
            .and(self.file.sync_all().await)
            .map_err(|source| {
                Error::io(format!("writing `{}`", self.partial_path.display()), source)
            })?;
        tokio::fs::rename(&self.partial_path, &self.path)
            .await
            .map_err(|source| {
                Error::io(
                    format!(
                        "renaming `{}` to `{}`",
                        self.partial_path.display(),
                        self.path.display()
                    ),
                    source,
                )
            })?;
        remove_if_present(&self.checkpoint_path).await?;
        Ok(self.path)
    }

    /// Removes the partial file and the checkpoint (an export that failed and will not be resumed).
    pub async fn discard(self) -> Result<(), Error> {
        drop(self.file);
        remove_if_present(&self.partial_path).await?;
        remove_if_present(&self.checkpoint_path).await
    }
}

impl AsyncWrite for OutputFile {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.file).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

/// `(FILE, FILE.partial, FILE.checkpoint)`.
fn side_paths(path: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let with_suffix = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    (
        path.to_owned(),
        with_suffix(".partial"),
        with_suffix(".checkpoint"),
    )
}

async fn remove_if_present(path: &Path) -> Result<(), Error> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::io(format!("removing `{}`", path.display()), source)),
    }
}
