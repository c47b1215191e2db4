/* The smallest start-up code a Cortex-M needs, for the generated model's firmware.
 *
 * At reset the core reads two words from address 0: the initial stack pointer
 * and the address of the reset handler.  The handler copies initialized
 * variables (.data) from flash to RAM, zeroes the rest (.bss), and calls the
 * application's main.  The symbols come from cortex_m.ld.  A model linked on
 * its own gets an empty main; an application brings its own.
 */
#include <stdint.h>

extern uint32_t _data_start, _data_end, _data_load, _bss_start, _bss_end, _stack_top;

int main(void);
void tt_reset_handler(void);
void tt_default_handler(void);

__attribute__((weak)) int main(void) {
    return 0;
}

void tt_default_handler(void) {
    for (;;) {
    }
}

void tt_reset_handler(void) {
    uint32_t *source = &_data_load;
    uint32_t *destination = &_data_start;
    while (destination < &_data_end) {
        *destination++ = *source++;
    }
    for (destination = &_bss_start; destination < &_bss_end; ++destination) {
        *destination = 0;
    }
    (void)main();
    tt_default_handler();
}

/* The vector table: the initial stack pointer, then reset, NMI and HardFault. */
struct vector_table {
    uint32_t *initial_stack_pointer;
    void (*handlers[3])(void);
};

__attribute__((section(".vectors"), used)) static const struct vector_table vectors = {
    &_stack_top, {tt_reset_handler, tt_default_handler, tt_default_handler}};
