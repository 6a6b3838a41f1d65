// HAL of the cmake-check "port": time comes from main.c (host) or is left undefined (the
// cross build is compiled, never linked).
static inline void mp_hal_set_interrupt_char(char c) {
    (void)c;
}
