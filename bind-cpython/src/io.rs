//! `awaitq.io.Reader`: a native thread that reads a file descriptor (a serial TTY, a pipe, a
//! socket), frames what it reads with core's [`framing`](awaitq_core::framing) and pushes the
//! frames into a channel, never taking the GIL.
//!
//! The thread owns a `dup` of the descriptor and waits in `poll()` on it and on a private
//! stop pipe, so `close()` (which writes the pipe) stops it at once, even while the source is
//! idle. End of input (a read of 0, or a hangup of a terminal: `EIO` after `POLLHUP`) closes
//! the channel after the last frame; a read error does the same and is kept for
//! [`Reader::error`]. A full channel: `on_full="wait"` retries (backpressure: the thread stops
//! reading, the kernel buffer fills), `"drop"` lets the channel's policy count the frame.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use awaitq_core::framing::{Deframer, Framing};
use awaitq_core::PushError;
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::producer::Producer;

/// What the reader thread and Python share.
#[derive(Default)]
struct Status {
    frames: AtomicU64,
    oversize: AtomicU64,
    malformed: AtomicU64,
    bytes: AtomicU64,
    dropped: AtomicU64,
    /// The error that ended the thread (errno, message), if any.
    error: Mutex<Option<(i32, String)>>,
    eof: AtomicBool,
}

/// `awaitq._awaitq._Reader(fd, channel, framing, arg, big_endian, on_full, read_size)`; the
/// Python class `awaitq.io.Reader` builds it (see `python/awaitq/io.py`).
#[pyclass(frozen, module = "awaitq.io")]
pub(crate) struct _Reader {
    status: Arc<Status>,
    stop_tx: Mutex<Option<OwnedFd>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    max_frame: usize,
}

fn os_err(e: io::Error) -> PyErr {
    PyOSError::new_err((e.raw_os_error().unwrap_or(0), e.to_string()))
}

fn framing_from(kind: &str, arg: &Bound<'_, PyAny>, big_endian: bool) -> PyResult<Framing> {
    Ok(match kind {
        "line" => {
            let d: Vec<u8> = arg
                .extract()
                .map_err(|_| PyTypeError::new_err("delimiter must be bytes"))?;
            Framing::line(&d).map_err(|e| PyValueError::new_err(e.message()))?
        }
        "datagram" => Framing::Datagram,
        "slip" => Framing::Slip,
        "cobs" => Framing::Cobs,
        "fixed" => Framing::Fixed(arg.extract()?),
        "length" => Framing::LengthPrefixed {
            size: arg.extract()?,
            big_endian,
        },
        other => {
            return Err(PyValueError::new_err(format!(
                "framing must be 'line', 'datagram', 'slip', 'cobs', awaitq.io.Fixed(n) or \
                 awaitq.io.LengthPrefixed(size, byteorder), not {other:?}"
            )))
        }
    })
}

/// A close-on-exec pipe (pipe + fcntl: macOS has no pipe2).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a writable array of two ints, as pipe requires.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe just returned these two descriptors; nothing else owns them.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    for fd in [&r, &w] {
        // SAFETY: F_SETFD on our own open descriptor.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((r, w))
}

fn dup(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on any int is safe to call; a bad fd is EBADF.
    let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if d < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor that only we own.
    Ok(unsafe { OwnedFd::from_raw_fd(d) })
}

#[pymethods]
impl _Reader {
    #[new]
    #[pyo3(signature = (fd, channel, framing, arg, big_endian, on_full, read_size))]
    fn new(
        fd: RawFd,
        channel: &Bound<'_, PyAny>,
        framing: &str,
        arg: &Bound<'_, PyAny>,
        big_endian: bool,
        on_full: &str,
        read_size: usize,
    ) -> PyResult<Self> {
        let producer = Producer::from_object(channel)?;
        let max_frame = producer.max_frame();
        let framing = framing_from(framing, arg, big_endian)?;
        let wait = match on_full {
            "wait" => true,
            "drop" => false,
            _ => return Err(PyValueError::new_err("on_full must be 'wait' or 'drop'")),
        };
        if read_size == 0 || read_size > 1 << 24 {
            return Err(PyValueError::new_err(
                "read_size must be between 1 and 16 MiB",
            ));
        }
        // Check the framing against the channel now (a clear error in the caller's thread).
        let mut buf = vec![0u8; framing.buffer_len(max_frame)];
        Deframer::new(framing, max_frame, &mut buf[..])
            .map_err(|e| PyValueError::new_err(e.message()))?;
        let src = dup(fd).map_err(os_err)?;
        let (stop_rx, stop_tx) = pipe().map_err(os_err)?;
        let status = Arc::new(Status::default());
        // A datagram larger than max_frame must be seen as such: read one byte more.
        let read_size = if framing == Framing::Datagram {
            max_frame + 1
        } else {
            read_size
        };
        let st = Arc::clone(&status);
        let thread = std::thread::Builder::new()
            .name("awaitq-io-reader".into())
            .spawn(move || {
                run(Job {
                    src,
                    stop_rx,
                    producer,
                    framing,
                    max_frame,
                    buf,
                    read_size,
                    wait,
                    status: st,
                })
            })
            .map_err(os_err)?;
        Ok(Self {
            status,
            stop_tx: Mutex::new(Some(stop_tx)),
            thread: Mutex::new(Some(thread)),
            max_frame,
        })
    }

    /// Stops the thread (waits for it, GIL released). The channel is left as it is.
    fn close(&self, py: Python<'_>) {
        let tx = self
            .stop_tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(tx); // the read end sees EOF: the thread's poll returns
        let t = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = t {
            py.detach(|| {
                let _ = t.join();
            });
        }
    }

    /// `True` while the thread reads.
    #[getter]
    fn running(&self) -> bool {
        self.thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|h| !h.is_finished())
    }

    /// The error that stopped the thread (an `OSError`), or `None`.
    #[getter]
    fn error(&self) -> Option<PyErr> {
        let e = self.status.error.lock().unwrap_or_else(|e| e.into_inner());
        e.as_ref()
            .map(|(errno, msg)| PyOSError::new_err((*errno, msg.clone())))
    }

    /// `True` once the source ended (EOF or hangup).
    #[getter]
    fn eof(&self) -> bool {
        self.status.eof.load(Relaxed)
    }

    #[getter]
    fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// `{'frames', 'oversize', 'malformed', 'bytes', 'dropped'}`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let s = &self.status;
        d.set_item("frames", s.frames.load(Relaxed))?;
        d.set_item("oversize", s.oversize.load(Relaxed))?;
        d.set_item("malformed", s.malformed.load(Relaxed))?;
        d.set_item("bytes", s.bytes.load(Relaxed))?;
        d.set_item("dropped", s.dropped.load(Relaxed))?;
        Ok(d)
    }
}

impl Drop for _Reader {
    fn drop(&mut self) {
        // Stop the thread; it exits after its current push (it holds the channel alive).
        drop(self.stop_tx.get_mut().map(Option::take));
    }
}

struct Job {
    src: OwnedFd,
    stop_rx: OwnedFd,
    producer: Producer,
    framing: Framing,
    max_frame: usize,
    buf: Vec<u8>,
    read_size: usize,
    wait: bool,
    status: Arc<Status>,
}

enum Next {
    Data(usize),
    Eof,
    Stop,
}

/// Waits for data or a stop, then reads once.
fn read_once(src: RawFd, stop: RawFd, into: &mut [u8]) -> io::Result<Next> {
    loop {
        let mut fds = [
            libc::pollfd {
                fd: src,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: stop,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a valid array of two pollfd structs.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if fds[1].revents != 0 {
            return Ok(Next::Stop);
        }
        if fds[0].revents & libc::POLLNVAL != 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        // SAFETY: `into` is writable for its length; `src` is our descriptor.
        let n = unsafe { libc::read(src, into.as_mut_ptr().cast(), into.len()) };
        if n > 0 {
            return Ok(Next::Data(n as usize));
        }
        if n == 0 {
            return Ok(Next::Eof);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) | Some(libc::EAGAIN) => continue,
            // A terminal whose other side hung up (a pty master after the slave closed).
            Some(libc::EIO) if fds[0].revents & libc::POLLHUP != 0 => return Ok(Next::Eof),
            _ => return Err(e),
        }
    }
}

fn run(mut job: Job) {
    let mut readbuf = vec![0u8; job.read_size];
    let max = job.max_frame;
    let Ok(mut deframer) = Deframer::new(job.framing, max, &mut job.buf[..]) else {
        return; // checked in `new`
    };
    let producer = &job.producer;
    let status = &job.status;
    let stop = job.stop_rx.as_raw_fd();
    let stopped = std::cell::Cell::new(false);
    let mut push = |frame: &[u8]| {
        if stopped.get() {
            return;
        }
        loop {
            match producer.push(0, frame) {
                Ok(()) => return,
                Err(PushError::Full) if job.wait => {
                    // Backpressure: wait for room (or a stop) before reading more.
                    let mut p = libc::pollfd {
                        fd: stop,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    if unsafe { libc::poll(&mut p, 1, 0) } > 0 {
                        stopped.set(true);
                        return;
                    }
                    std::thread::sleep(Duration::from_micros(100));
                }
                Err(PushError::Full) => {
                    status.dropped.fetch_add(1, Relaxed);
                    return;
                }
                Err(_) => {
                    stopped.set(true); // closed by the consumer
                    return;
                }
            }
        }
    };
    let outcome = loop {
        match read_once(job.src.as_raw_fd(), stop, &mut readbuf) {
            Ok(Next::Data(n)) => {
                deframer.feed(&readbuf[..n], &mut push);
                let s = deframer.stats();
                status.frames.store(s.frames, Relaxed);
                status.oversize.store(s.oversize, Relaxed);
                status.malformed.store(s.malformed, Relaxed);
                status.bytes.store(s.bytes, Relaxed);
                if stopped.get() || producer.is_closed() {
                    break None;
                }
            }
            Ok(Next::Eof) => {
                deframer.finish(&mut push);
                status.eof.store(true, Relaxed);
                break Some(None);
            }
            Ok(Next::Stop) => break None,
            Err(e) => break Some(Some(e)),
        }
    };
    let s = deframer.stats();
    status.frames.store(s.frames, Relaxed);
    status.oversize.store(s.oversize, Relaxed);
    status.malformed.store(s.malformed, Relaxed);
    status.bytes.store(s.bytes, Relaxed);
    if let Some(err) = outcome {
        if let Some(e) = err {
            *status.error.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((e.raw_os_error().unwrap_or(0), e.to_string()));
        }
        // After the last frame: the consumer drains, then sees the end.
        producer.close_with_error(
            status
                .error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        );
    }
}
