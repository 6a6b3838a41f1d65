/* Debian's wine 8.0 lacks bcryptprimitives.dll, which Rust's std (1.78+) imports for
 * `ProcessPrng` (HashMap seeds). This stand-in, placed beside the test binaries, exports it
 * over advapi32's RtlGenRandom (SystemFunction036), which wine has. Tests only: a Windows
 * machine has the real DLL. Built by ci/test-windows.sh with x86_64-w64-mingw32-gcc. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG len);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
