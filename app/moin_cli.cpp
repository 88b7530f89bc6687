// moin: every core capability from the command line, headless (servers, schedulers, scripts).
// User mistakes end with "moin: error: ..." on stderr and a non-zero exit code, never a trace.
#include "moin/device.h"
#include "moin/error.h"
#include "moin/tokenizer.h"
#include "moin/version.h"
#include "moin/workspace.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <sstream>

namespace {

using json = nlohmann::json;

// Exit codes: 0 success, 1 the command failed (message says why), 2 the command line is wrong.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInternal = 70;

void addInit(CLI::App& app)
{
    auto* cmd = app.add_subcommand("init", "Create a new workspace folder");
    static std::string dir;
    static std::string name;
    cmd->add_option("DIR", dir, "Folder for the workspace (created if missing)")->required();
    cmd->add_option("--name", name, "Display name (default: the folder's name)");
    cmd->callback([] {
        moin::WorkspaceOptions options;
        options.name = name;
        moin::Workspace workspace = moin::Workspace::create(dir, options);
        std::cout << "Created workspace '" << workspace.name() << "' in " << workspace.directory()
                  << " (schema version " << workspace.schemaVersion() << ")\n";
    });
}

void addInfo(CLI::App& app)
{
    auto* cmd = app.add_subcommand("info", "Show a workspace's settings and recent activity");
    static std::string dir;
    static bool asJson = false;
    cmd->add_option("DIR", dir, "Workspace folder")->required();
    cmd->add_flag("--json", asJson, "Print one JSON object");
    cmd->callback([] {
        moin::Workspace workspace = moin::Workspace::open(dir);
        const auto activity = workspace.activity(10);
        if (asJson) {
            json out = {
                {"name", workspace.name()},
                {"directory", workspace.directory()},
                {"schema_version", workspace.schemaVersion()},
                {"upgraded_from", workspace.openedFromVersion()},
                {"created_at", workspace.meta("created_at").value_or("")},
                {"created_by", workspace.meta("created_by").value_or("")},
                {"activity", json::array()},
            };
            for (const auto& entry : activity)
                out["activity"].push_back(
                    {{"at", entry.at}, {"pid", entry.pid}, {"message", entry.message}});
            std::cout << out.dump(2) << "\n";
            return;
        }
        std::cout << "Workspace:      " << workspace.name() << "\n"
                  << "Folder:         " << workspace.directory() << "\n"
                  << "Schema version: " << workspace.schemaVersion() << "\n"
                  << "Created:        " << workspace.meta("created_at").value_or("?") << " by "
                  << workspace.meta("created_by").value_or("?") << "\n"
                  << "Recent activity:\n";
        for (const auto& entry : activity)
            std::cout << "  " << entry.at << "  [" << entry.pid << "]  " << entry.message << "\n";
    });
}

std::string joinIds(const std::vector<int32_t>& ids)
{
    std::ostringstream out;
    for (size_t i = 0; i < ids.size(); ++i)
        out << (i ? " " : "") << ids[i];
    return out.str();
}

void addTokenizer(CLI::App& app)
{
    auto* tokenizer = app.add_subcommand("tokenizer", "Train and use sentencepiece tokenizers");
    tokenizer->require_subcommand(1);

    auto* train = tokenizer->add_subcommand("train", "Train a new tokenizer from text files");
    static moin::TokenizerTrainOptions options;
    train->add_option("--input", options.inputFiles, "UTF-8 text files")
        ->required()
        ->check(CLI::ExistingFile);
    train->add_option("--output", options.modelPrefix,
                      "Output prefix: writes PREFIX.model and PREFIX.vocab")
        ->required();
    train->add_option("--vocab-size", options.vocabSize, "Vocabulary size")
        ->capture_default_str();
    train->add_option("--type", options.modelType, "Model type")
        ->check(CLI::IsMember({"bpe", "unigram"}))
        ->capture_default_str();
    train->callback([] {
        const std::string model = moin::Tokenizer::train(options);
        const moin::Tokenizer loaded = moin::Tokenizer::load(model);
        std::cout << "Wrote " << model << " (" << loaded.vocabSize() << " pieces)\n";
    });

    static std::string modelPath;
    static std::string text;
    static bool pieces = false;
    auto* encode = tokenizer->add_subcommand("encode", "Print the token ids of a text");
    encode->add_option("--model", modelPath, "sentencepiece .model file")->required();
    encode->add_option("TEXT", text, "Text to encode")->required();
    encode->add_flag("--pieces", pieces, "Print pieces instead of ids");
    encode->callback([] {
        const moin::Tokenizer tok = moin::Tokenizer::load(modelPath);
        const auto ids = tok.encode(text);
        if (!pieces) {
            std::cout << joinIds(ids) << "\n";
            return;
        }
        for (size_t i = 0; i < ids.size(); ++i)
            std::cout << (i ? " " : "") << tok.idToPiece(ids[i]);
        std::cout << "\n";
    });

    static std::vector<int32_t> ids;
    auto* decode = tokenizer->add_subcommand("decode", "Print the text of token ids");
    decode->add_option("--model", modelPath, "sentencepiece .model file")->required();
    decode->add_option("IDS", ids, "Token ids")->required();
    decode->callback([] {
        const moin::Tokenizer tok = moin::Tokenizer::load(modelPath);
        std::cout << tok.decode(ids) << "\n";
    });
}

void addVersion(CLI::App& app)
{
    auto* cmd = app.add_subcommand("version", "Show versions of MoIN Studio and its libraries");
    static bool asJson = false;
    cmd->add_flag("--json", asJson, "Print one JSON object");
    cmd->callback([] {
        json devices = json::array();
        for (const auto& device : moin::availableDevices())
            devices.push_back(device.id);
        const json out = {{"moin", moin::moinVersion()},        {"libtorch", moin::torchVersion()},
                          {"faiss", moin::faissVersion()},      {"sqlite", moin::sqliteLibraryVersion()},
                          {"devices", devices},
                          {"default_device", moin::defaultDeviceId()}};
        if (asJson) {
            std::cout << out.dump(2) << "\n";
            return;
        }
        std::cout << "MoIN Studio " << moin::moinVersion() << "\n"
                  << "LibTorch    " << moin::torchVersion() << "\n"
                  << "FAISS       " << moin::faissVersion() << "\n"
                  << "SQLite      " << moin::sqliteLibraryVersion() << "\n"
                  << "Devices     " << devices.dump() << " (default " << moin::defaultDeviceId()
                  << ")\n";
    });
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"moin: build, inspect and serve a mixture of introvert experts.\n"
                 "Every command has --help.",
                 "moin"};
    app.require_subcommand(1);
    app.set_version_flag("--version", moin::moinVersion());
    addInit(app);
    addInfo(app);
    addTokenizer(app);
    addVersion(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    } catch (const moin::Error& e) {
        std::cerr << "moin: error: " << e.what() << "\n";
        return kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << "moin: internal error: " << e.what()
                  << "\n(please report this, with the command that caused it)\n";
        return kExitInternal;
    }
    return 0;
}
