#pragma once
#include <string>

namespace moin {

/// This program's version, e.g. "0.1.0".
std::string moinVersion();
/// Versions of the libraries linked in, for About boxes and bug reports.
std::string torchVersion();
std::string faissVersion();
std::string sqliteLibraryVersion();

} // namespace moin
