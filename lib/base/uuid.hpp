// Random (version 4) UUIDs from the kernel's CSPRNG (getrandom), as
// "xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx" in lower case, N one of 8, 9, a, b.
// Unique across daemons, databases and restarts, unlike a row id.
#pragma once

#include <string>

namespace jobq {

// Throws std::runtime_error when the kernel gives no random bytes.
std::string random_uuid();

}  // namespace jobq
