/* Minimal Cortex-M4 start-up: the vector table, .data copied from flash, .bss cleared, the FPU enabled, main. */
#include <stdint.h>
#include <string.h>

extern uint32_t _data_load, _data_start, _data_end, _bss_start, _bss_end, _stack_top;
int main(void);
void reset_handler(void);
void usart2_irq_handler(void);

static void default_handler(void)
{
    for (;;) {
    }
}

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

void reset_handler(void)
{
    memcpy(&_data_start, &_data_load, (size_t)((char *)&_data_end - (char *)&_data_start));
    memset(&_bss_start, 0, (size_t)((char *)&_bss_end - (char *)&_bss_start));
    CPACR |= 0xFu << 20; /* CP10 and CP11: the FPU the write-verify loop's arithmetic uses */
    main();
    default_handler();
}

/* Cortex-M4 core exceptions (16) and STM32F4 interrupts up to USART2 (position 38). */
__attribute__((section(".vectors"), used)) static void (*const s_vectors[16 + 39])(void) = {
    [0] = (void (*)(void))(uintptr_t)&_stack_top,
    [1] = reset_handler,
    [2] = default_handler, [3] = default_handler, [4] = default_handler, [5] = default_handler, [6] = default_handler,
    [11] = default_handler, [12] = default_handler, [14] = default_handler, [15] = default_handler,
    [16 + 38] = usart2_irq_handler,
};
