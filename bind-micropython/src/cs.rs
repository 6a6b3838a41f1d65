//! awaitq-core's critical section, mapped to MicroPython's atomic section. The core takes it
//! only to read a channel's wake hook on a wake and, on targets without compare-and-swap
//! (thumbv6m), around each read-modify-write of its ring; frames take no lock elsewhere.
//!
//! `MICROPY_BEGIN_ATOMIC_SECTION` is what MicroPython itself uses to share state with ISRs and
//! other threads: on the unix port a process-wide recursive pthread mutex (so a producer
//! pthread the VM knows nothing about is excluded correctly), on bare-metal ports interrupts
//! masked (so ISR producers are excluded), on RTOS ports the port's critical section. The same
//! core code is therefore correct from a pthread on unix and from an ISR on an MCU.

use crate::ffi;

struct MpAtomicSection;
critical_section::set_impl!(MpAtomicSection);

// SAFETY: acquire/release map 1:1 to MICROPY_BEGIN/END_ATOMIC_SECTION, which nest (the state
// returned by begin is restored by end), exclude every context that can touch a channel
// (threads on unix, ISRs on bare metal) and never raise or allocate.
unsafe impl critical_section::Impl for MpAtomicSection {
    unsafe fn acquire() -> critical_section::RawRestoreState {
        // SAFETY: no preconditions; the matching release is guaranteed by critical-section.
        unsafe { ffi::awaitq_mp_sys_atomic_begin() }
    }

    unsafe fn release(state: critical_section::RawRestoreState) {
        // SAFETY: `state` is what the matching acquire returned, per critical-section's contract.
        unsafe { ffi::awaitq_mp_sys_atomic_end(state) }
    }
}
