/* CRC-32/ISO-HDLC (section 2.3), bitwise: 1 KB of table costs more flash than a small board wants, and the link,
 * at 3.3 us a byte, is slower than eight shifts a byte. */
#include "swim_internal.h"

uint32_t swim_crc32_update(uint32_t crc, uint8_t byte)
{
    crc ^= byte;
    for (int bit = 0; bit < 8; bit++) {
        crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

uint32_t swim_crc32(const uint8_t *bytes, size_t count)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < count; i++) {
        crc = swim_crc32_update(crc, bytes[i]);
    }
    return crc ^ 0xFFFFFFFFu;
}
