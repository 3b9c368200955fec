#pragma once

#include <string>
#include <string_view>

namespace dockmaster::net {

/// `text` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD,
/// so that what a command or a container printed (any bytes, a tail cut inside a
/// character) can go into JSON, whose serializer refuses invalid UTF-8.
std::string valid_utf8(std::string_view text);

}  // namespace dockmaster::net
