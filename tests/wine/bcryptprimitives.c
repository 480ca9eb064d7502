/*
 * bcryptprimitives.dll for Wine 8.0, which does not ship it.
 *
 * Every Rust (>= 1.78) Windows binary imports ProcessPrng from this DLL for
 * its random numbers. Wine has BCryptGenRandom, so the shim forwards to the
 * system-preferred RNG. Built by scripts/wine-env.sh with mingw-w64 and copied
 * into the test prefix's system32; it is never shipped or used on Windows.
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* BCryptGenRandom takes a ULONG length: feed larger requests in pieces. */
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    /* Like the real one, this never fails in practice: callers abort on FALSE. */
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst;
    (void)reason;
    (void)reserved;
    return TRUE;
}
