// Base64 (RFC 4648, with padding): log bytes on the wire, registry
// credentials. Decoding refuses anything that is not exactly that.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace jobq {

std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace jobq
