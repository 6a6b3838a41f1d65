# The critical section against a real interrupt. A fast timer ISR (every 20 us) pushes frames
# while the VM, without ever awaiting, sends its own frames (send_nowait) and receives
# (try_recv) on the same channel, so interrupts land in the middle of the VM's channel
# operations. awaitq's core takes MICROPY_BEGIN_ATOMIC_SECTION as its only lock, which this
# board maps to PRIMASK (the stock qemu port leaves it a no-op). Both streams must come out
# complete, in order and intact.
import awaitq
import isrbus

COUNT = 3000
VM_TAG = 0x80000000


def main():
    ch = awaitq.Channel(capacity=8, max_frame=8)
    isrbus.start(ch, COUNT, size=8, period_us=20)
    isr_next = 0
    vm_sent = 0
    vm_next = 0
    bad = 0
    while True:
        if vm_sent < COUNT:
            try:
                ch.send_nowait(vm_sent.to_bytes(4, "little"), tag=VM_TAG + vm_sent)
                vm_sent += 1
            except awaitq.ChannelFull:
                pass
        for _ in range(2):
            f = ch.try_recv()
            if f is None:
                break
            k = int.from_bytes(f[:4], "little")
            if len(f) == 4:  # a VM frame
                bad += k != vm_next
                vm_next = k + 1
            else:  # an ISR frame: k then four bytes of k & 0xFF
                bad += k != isr_next or f[4:] != bytes([k & 0xFF]) * 4
                isr_next = k + 1
        # Done when the VM sent everything, the ISR pushed everything (it stops itself after
        # the last frame, so nothing can arrive after this check) and the channel is drained,
        # however long a loaded host makes either stream take.
        if vm_sent == COUNT and not isrbus.stats()["running"] and len(ch) == 0:
            break
    isrbus.stop()
    s = ch.stats()
    print("isr frames:", isr_next, "vm frames:", vm_next, "bad:", bad)
    print("sent == received:", s["sent"] == s["received"] == 2 * COUNT)


main()
