#include "moin/version.h"

#include "moin/database.h"

#include <faiss/Index.h>
#include <torch/version.h>

namespace moin {

std::string moinVersion() { return MOIN_VERSION; }

std::string torchVersion() { return TORCH_VERSION; }

std::string faissVersion()
{
    return std::to_string(FAISS_VERSION_MAJOR) + "." + std::to_string(FAISS_VERSION_MINOR) + "."
           + std::to_string(FAISS_VERSION_PATCH);
}

std::string sqliteLibraryVersion() { return sqliteVersion(); }

} // namespace moin
