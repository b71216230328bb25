/* GPT-2's byte <-> unicode table. Byte-level BPE vocabularies (GPT-2, Llama-3, Qwen2, ...) spell
 * every byte as a printable code point so that tokens are valid text: the printable Latin-1 bytes
 * ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, the other 68 bytes map in order to U+0100..
 * (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A). Turning a token back through this table gives its
 * exact bytes, which is what the union vocabulary is built from (METHOD.md §3). */
#include "tokenizer/tok_internal.h"

static int printable_latin1(unsigned b)
{
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t tok_byte_to_unicode(uint8_t b)
{
    if (printable_latin1(b))
        return b;
    /* The n-th non-printable byte (in byte order) maps to 256 + n: 0x00..0x20 are n = 0..32,
     * 0x7F..0xA0 are n = 33..66 and 0xAD (soft hyphen) is n = 67. */
    if (b <= 0x20)
        return 256u + b;
    if (b >= 0x7F && b <= 0xA0)
        return 256u + 33u + (b - 0x7Fu);
    return 256u + 67u;
}

int tok_unicode_to_byte(uint32_t cp)
{
    if (cp < 256)
        return printable_latin1(cp) ? (int)cp : -1;
    if (cp >= 256 + 68)
        return -1;
    uint32_t n = cp - 256;
    if (n <= 32)
        return (int)n;
    if (n <= 66)
        return (int)(0x7F + n - 33);
    return 0xAD;
}

long tok_bytelevel_to_bytes(const uint8_t *s, size_t len, uint8_t *out)
{
    size_t i = 0, o = 0;
    while (i < len) {
        int cl = tok_utf8_char_len(s + i, len - i);
        if (cl == 0)
            return -1;
        int b = tok_unicode_to_byte(tok_utf8_decode(s + i, cl));
        if (b < 0)
            return -1;
        out[o++] = (uint8_t)b;
        i += (size_t)cl;
    }
    return (long)o;
}
