//! The wake-up descriptor: an eventfd on Linux, a non-blocking pipe on other Unixes (macOS),
//! a connected loopback socket pair on Windows (`select()`, a selector event loop and trio
//! accept only sockets there). A producer thread `signal`s it (one `write`/`send`, no GIL, no
//! allocation); the event loop (or a hand-written scheduler's `select`) sees it readable and
//! the consumer `drain`s it.

use std::io;

/// A descriptor as Python sees it (`fileno()`): an fd on Unix, a `SOCKET` on Windows.
pub(crate) type RawWake = i64;

#[cfg(unix)]
pub(crate) use unix::WakeFd;
#[cfg(not(unix))]
pub(crate) use SocketPair as WakeFd;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::RawFd;

    use super::RawWake;

    /// An owned wake-up descriptor. `read` and `write` are the same fd for an eventfd.
    #[derive(Debug)]
    pub(crate) struct WakeFd {
        read: RawFd,
        write: RawFd,
    }

    impl WakeFd {
        /// A new non-blocking, close-on-exec descriptor.
        pub(crate) fn new() -> io::Result<Self> {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            {
                // SAFETY: plain syscall with constant flags; the result is checked.
                let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
                if fd >= 0 {
                    return Ok(Self {
                        read: fd,
                        write: fd,
                    });
                }
            }
            Self::pipe()
        }

        pub(super) fn pipe() -> io::Result<Self> {
            let mut fds = [0 as RawFd; 2];
            // SAFETY: `fds` is a valid array of two ints for pipe() to fill.
            if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
                return Err(io::Error::last_os_error());
            }
            let this = Self {
                read: fds[0],
                write: fds[1],
            };
            for fd in fds {
                // SAFETY: fcntl on descriptors we own; a failure is reported and `this` closes them.
                let ok = unsafe {
                    let fl = libc::fcntl(fd, libc::F_GETFL);
                    fl >= 0
                        && libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) == 0
                        && libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) == 0
                };
                if !ok {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(this)
        }

        /// The descriptor to watch for readability.
        pub(crate) fn fileno(&self) -> RawWake {
            self.read.into()
        }

        /// Makes the descriptor readable. Async-signal-safe: one `write`, errors ignored (a full
        /// pipe or a saturated eventfd is already readable).
        pub(crate) fn signal(&self) {
            let one: u64 = 1;
            loop {
                // SAFETY: writes 8 bytes from a live local to a descriptor we own; for a pipe,
                // any prefix (>= 1 byte) makes it readable.
                let n = unsafe { libc::write(self.write, (&one as *const u64).cast(), 8) };
                if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    return;
                }
            }
        }

        /// Consumes every pending signal, so the descriptor is no longer readable.
        pub(crate) fn drain(&self) {
            let mut buf = [0u8; 64];
            loop {
                // SAFETY: reads into a live local buffer of the given length from our descriptor.
                let n = unsafe { libc::read(self.read, buf.as_mut_ptr().cast(), buf.len()) };
                if n > 0 && self.read != self.write && n as usize == buf.len() {
                    continue; // a pipe with more bytes queued
                }
                if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
        }
    }

    impl Drop for WakeFd {
        fn drop(&mut self) {
            // SAFETY: closes descriptors this value owns, once each.
            unsafe {
                libc::close(self.read);
                if self.write != self.read {
                    libc::close(self.write);
                }
            }
        }
    }
}

/// Two connected loopback TCP sockets, both non-blocking: the wake-up descriptor where only
/// sockets can be waited on (Windows). Plain `std::net`, so it is built and tested on every
/// system; only Windows uses it.
#[derive(Debug)]
#[cfg_attr(unix, allow(dead_code))]
pub(crate) struct SocketPair {
    read: std::net::TcpStream,
    write: std::net::TcpStream,
}

#[cfg_attr(unix, allow(dead_code))]
impl SocketPair {
    pub(crate) fn new() -> io::Result<Self> {
        use std::net::{Ipv4Addr, TcpListener, TcpStream};
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        // Another local process could connect first: accept until the peer is our own end.
        for _ in 0..8 {
            let write = TcpStream::connect(addr)?;
            let mine = write.local_addr()?;
            let (read, peer) = listener.accept()?;
            if peer == mine {
                for s in [&read, &write] {
                    s.set_nonblocking(true)?;
                    s.set_nodelay(true)?;
                }
                return Ok(Self { read, write });
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "loopback socket pair: a foreign connection kept winning",
        ))
    }

    pub(crate) fn fileno(&self) -> RawWake {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            self.read.as_raw_fd().into()
        }
        #[cfg(windows)]
        {
            use std::os::windows::io::AsRawSocket;
            self.read.as_raw_socket() as RawWake
        }
    }

    /// One byte; a full buffer (`WouldBlock`) is already readable.
    pub(crate) fn signal(&self) {
        use std::io::Write;
        let _ = (&self.write).write(&[1]);
    }

    pub(crate) fn drain(&self) {
        use std::io::Read;
        let mut buf = [0u8; 64];
        // Until `WouldBlock` (or an error, or EOF: nothing more to read either way).
        while let Ok(n) = (&self.read).read(&mut buf) {
            if n == 0 {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn readable(fd: RawWake) -> bool {
        let mut p = libc::pollfd {
            fd: fd as i32,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[cfg(unix)]
    #[test]
    fn signal_then_drain() {
        for fd in [WakeFd::new().unwrap(), unix::WakeFd::pipe().unwrap()] {
            assert!(!readable(fd.fileno()));
            fd.signal();
            fd.signal();
            assert!(readable(fd.fileno()));
            fd.drain();
            assert!(!readable(fd.fileno()));
        }
    }

    #[cfg(unix)]
    #[test]
    fn socket_pair_signal_then_drain() {
        let s = SocketPair::new().unwrap();
        assert!(!readable(s.fileno()));
        for _ in 0..100 {
            s.signal();
        }
        // Loopback delivery is asynchronous: wait for it (bounded).
        let mut p = libc::pollfd {
            fd: s.fileno() as i32,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut p, 1, 5000) }, 1);
        s.drain();
        assert!(!readable(s.fileno()));
    }
}
