#pragma once
// What "valid UTF-8" means for every text MoIN reads (corpus files, safetensors headers and
// metadata): written once, here.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace moin {

/// Offset of the first byte that does not begin a well-formed UTF-8 sequence, or
/// std::string::npos when all of `text` is well-formed. Truncated sequences, overlong forms,
/// surrogates (U+D800..U+DFFF) and code points above U+10FFFF are not well-formed.
inline size_t invalidUtf8At(std::string_view text)
{
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    for (size_t i = 0; i < n;) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t length = 0;
        uint32_t minimum = 0;
        if ((c & 0xE0) == 0xC0) {
            length = 2, minimum = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            length = 3, minimum = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            length = 4, minimum = 0x10000;
        } else {
            return i; // a continuation byte without a lead, or 0xF8..0xFF
        }
        if (n - i < length)
            return i;
        uint32_t code = c & (0x7Fu >> length);
        for (size_t k = 1; k < length; ++k) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            code = (code << 6) | (s[i + k] & 0x3Fu);
        }
        if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
            return i;
        i += length;
    }
    return std::string::npos;
}

inline bool isValidUtf8(std::string_view text)
{
    return invalidUtf8At(text) == std::string::npos;
}

} // namespace moin
