/* An example integration of the core on a Cortex-M4 (STM32F4-class): the link is USART2 at 3 Mbaud with an
 * interrupt-fed receive ring, the clock is the DWT cycle counter, and the array sits behind a memory-mapped array
 * controller (an FPGA on the external memory bus, as CiM test boards are commonly built) whose registers are below.
 * A lab with another link or array interface replaces this file only; the core does not change. */
#include <stdint.h>

#include "swim_board.h"

#define CPU_HZ 168000000u

/* USART2 (reference manual RM0090, section 30.6). */
#define USART2_SR (*(volatile uint32_t *)0x40004400u)
#define USART2_DR (*(volatile uint32_t *)0x40004404u)
#define USART2_BRR (*(volatile uint32_t *)0x40004408u)
#define USART2_CR1 (*(volatile uint32_t *)0x4000440Cu)
#define RCC_APB1ENR (*(volatile uint32_t *)0x40023840u)
#define NVIC_ISER1 (*(volatile uint32_t *)0xE000E104u)
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)

/* DWT cycle counter (ARMv7-M architecture reference, C1.8). */
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

/* The array controller: write the cell and the pulse, then GO; or write the cell and READ, wait, take the code. */
#define ARRAY_BASE 0x60000000u
#define ARRAY_CELL (*(volatile uint32_t *)(ARRAY_BASE + 0x00u))      /* tile << 20 | row << 10 | column */
#define ARRAY_AMPLITUDE (*(volatile uint32_t *)(ARRAY_BASE + 0x04u)) /* millivolts */
#define ARRAY_WIDTH (*(volatile uint32_t *)(ARRAY_BASE + 0x08u))     /* nanoseconds */
#define ARRAY_COMMAND (*(volatile uint32_t *)(ARRAY_BASE + 0x0Cu))   /* 1 SET pulse, 2 RESET pulse, 3 read */
#define ARRAY_BUSY (*(volatile uint32_t *)(ARRAY_BASE + 0x10u))
#define ARRAY_CODE (*(volatile uint32_t *)(ARRAY_BASE + 0x14u))      /* the last read's ADC code */

static uint8_t s_ring[512];
static volatile uint16_t s_head, s_tail;
static uint64_t s_micros;
static uint32_t s_last_cycles;

void usart2_irq_handler(void)
{
    if (USART2_SR & SR_RXNE) {
        uint8_t byte = (uint8_t)USART2_DR;
        uint16_t next = (uint16_t)((s_head + 1u) % sizeof s_ring);
        if (next != s_tail) {
            s_ring[s_head] = byte;
            s_head = next;
        } /* else the ring overflowed: the frame fails its CRC and the host resends it */
    }
}

static void uart_write(void *context, const uint8_t *bytes, size_t count)
{
    (void)context;
    for (size_t i = 0; i < count; i++) {
        while ((USART2_SR & SR_TXE) == 0) {
        }
        USART2_DR = bytes[i];
    }
}

static void wait_array(void)
{
    while (ARRAY_BUSY != 0) {
    }
}

static uint32_t cell_word(swim_cell cell) { return (uint32_t)cell.tile << 20 | (uint32_t)cell.row << 10 | cell.column; }

static void array_pulse(void *context, swim_cell cell, uint8_t polarity, float amplitude_volts, uint32_t width_ns)
{
    (void)context;
    ARRAY_CELL = cell_word(cell);
    ARRAY_AMPLITUDE = (uint32_t)(amplitude_volts * 1000.0f + 0.5f);
    ARRAY_WIDTH = width_ns;
    ARRAY_COMMAND = polarity == SWIM_SET ? 1u : 2u;
    wait_array();
}

static uint16_t array_read(void *context, swim_cell cell)
{
    (void)context;
    ARRAY_CELL = cell_word(cell);
    ARRAY_COMMAND = 3u;
    wait_array();
    return (uint16_t)ARRAY_CODE;
}

/* The cycle counter wraps every 25 s at 168 MHz; it is folded into 64 bits on every call. */
static uint64_t micros(void *context)
{
    (void)context;
    uint32_t now = DWT_CYCCNT;
    s_micros += (now - s_last_cycles) / (CPU_HZ / 1000000u);
    s_last_cycles = now - (now - s_last_cycles) % (CPU_HZ / 1000000u);
    return s_micros;
}

/* A 4-tile 256 x 256 RRAM test chip; a lab measures its own numbers (the pulse calibration above all). */
static const swim_board_config s_config = {
    .firmware_major = 1,
    .serial = "M4-0001",
    .device_model = "rram",
    .tiles = 4, .rows = 256, .columns = 256, .levels = 4,
    .g_min_microsiemens = 2.0f, .g_max_microsiemens = 100.0f,
    .adc_zero_microsiemens = 0.0f, .adc_step_microsiemens = 110.0f / 4095.0f,
    .amplitude_min_volts = 0.3f, .amplitude_max_volts = 3.0f,
    .width_min_ns = 10, .width_max_ns = 100000,
    .read_ns = 1000, .pulse_ns = 500, .verify_iteration_ns = 2000,
    .lease_ms = 5000,
    .cells_per_pulse = 1, .cells_per_read = 1,
    .set = {0.6f, 7.35f, 100}, .reset = {0.6f, 7.35f, 100},
    .verify_samples = 2, .max_reversals = 5,
};

static const swim_hal s_hal = {NULL, array_pulse, array_read, NULL, NULL, micros};
static swim_board s_board;
static swim_link s_link;

int main(void)
{
    DEMCR |= 1u << 24;   /* trace enable, for the cycle counter */
    DWT_CTRL |= 1u;
    RCC_APB1ENR |= 1u << 17;
    USART2_BRR = (1u << 4) | 6u; /* APB1 at 42 MHz, oversampling by 8: 42 MHz / (8 x 1.75) = 3 Mbaud */
    USART2_CR1 = (1u << 15) | (1u << 13) | (1u << 5) | (1u << 3) | (1u << 2); /* OVER8, UE, RXNEIE, TE, RE */
    NVIC_ISER1 = 1u << (38 - 32);
    if (swim_board_init(&s_board, &s_config, &s_hal, NULL, (uint16_t)DWT_CYCCNT) != 0) {
        for (;;) {
        }
    }
    swim_link_init(&s_link, NULL, uart_write, NULL);
    for (;;) {
        while (s_tail != s_head) {
            uint8_t byte = s_ring[s_tail];
            s_tail = (uint16_t)((s_tail + 1u) % sizeof s_ring);
            swim_board_receive(&s_board, &s_link, &byte, 1);
        }
    }
}
