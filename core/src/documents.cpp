#include "moin/documents.h"

#include "moin/atomicfile.h"
#include "moin/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace moin {

void readDocuments(const std::string& path, const std::string& textField,
                   const std::function<void(TextDocument&&)>& onDocument)
{
    const std::string extension = std::filesystem::path(path).extension().string();
    if (extension == ".txt" || extension == ".md") {
        onDocument({readFile(path), path, 0});
        return;
    }
    if (extension != ".jsonl") {
        throw Error(path + ": unknown file type '" + extension
                    + "' (expected .jsonl, .txt or .md)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read corpus file " + path);
    std::string line;
    int64_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        nlohmann::json object;
        try {
            object = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
            throw Error(path + ":" + std::to_string(number) + ": not a JSON object ("
                        + e.what() + ")");
        }
        if (!object.is_object() || !object.contains(textField) || !object[textField].is_string()) {
            throw Error(path + ":" + std::to_string(number) + ": no string field \"" + textField
                        + "\" (hint: choose the field that holds the text)");
        }
        onDocument({object[textField].get<std::string>(), path, number});
    }
    if (in.bad())
        throw Error("reading " + path + " failed at line " + std::to_string(number));
}

} // namespace moin
