// The one translation unit that links sentencepiece. See spm_shim.h for why it stands apart.
#include "spm_shim.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

struct MoinSpmProcessor {
    sentencepiece::SentencePieceProcessor processor;
};

namespace {

int fail(char* err, size_t errSize, const std::string& message)
{
    if (err && errSize > 0) {
        const size_t n = std::min(errSize - 1, message.size());
        std::memcpy(err, message.data(), n);
        err[n] = '\0';
    }
    return 1;
}

// Runs `body`, turning any C++ exception into an error code: nothing may unwind through dlsym.
template <typename Body>
int guarded(char* err, size_t errSize, Body&& body)
{
    try {
        return body();
    } catch (const std::exception& e) {
        return fail(err, errSize, e.what());
    } catch (...) {
        return fail(err, errSize, "unknown error inside sentencepiece");
    }
}

} // namespace

extern "C" {

int moin_spm_abi_version(void) { return MOIN_SPM_ABI_VERSION; }

int moin_spm_load(const char* modelPath, MoinSpmProcessor** out, char* err, size_t errSize)
{
    return guarded(err, errSize, [&] {
        auto holder = std::make_unique<MoinSpmProcessor>();
        const auto status = holder->processor.Load(modelPath);
        if (!status.ok())
            return fail(err, errSize, status.ToString());
        *out = holder.release();
        return 0;
    });
}

void moin_spm_free(MoinSpmProcessor* processor) { delete processor; }

int moin_spm_encode(const MoinSpmProcessor* processor, const char* text, size_t textSize,
                    int32_t** ids, size_t* count, char* err, size_t errSize)
{
    return guarded(err, errSize, [&] {
        std::vector<int> pieces;
        const auto status = processor->processor.Encode(std::string(text, textSize), &pieces);
        if (!status.ok())
            return fail(err, errSize, status.ToString());
        *count = pieces.size();
        *ids = static_cast<int32_t*>(std::malloc(std::max<size_t>(1, pieces.size()) * 4));
        if (!*ids)
            return fail(err, errSize, "out of memory");
        for (size_t i = 0; i < pieces.size(); ++i)
            (*ids)[i] = pieces[i];
        return 0;
    });
}

int moin_spm_decode(const MoinSpmProcessor* processor, const int32_t* ids, size_t count,
                    char** text, size_t* textSize, char* err, size_t errSize)
{
    return guarded(err, errSize, [&] {
        const int vocab = processor->processor.GetPieceSize();
        std::vector<int> pieces(ids, ids + count);
        for (size_t i = 0; i < count; ++i) {
            if (pieces[i] < 0 || pieces[i] >= vocab) {
                return fail(err, errSize,
                            "token id " + std::to_string(pieces[i]) + " at position "
                                + std::to_string(i) + " is outside the vocabulary [0, "
                                + std::to_string(vocab) + ")");
            }
        }
        std::string decoded;
        const auto status = processor->processor.Decode(pieces, &decoded);
        if (!status.ok())
            return fail(err, errSize, status.ToString());
        *textSize = decoded.size();
        *text = static_cast<char*>(std::malloc(std::max<size_t>(1, decoded.size())));
        if (!*text)
            return fail(err, errSize, "out of memory");
        std::memcpy(*text, decoded.data(), decoded.size());
        return 0;
    });
}

void moin_spm_free_buffer(void* buffer) { std::free(buffer); }

int moin_spm_vocab_size(const MoinSpmProcessor* processor)
{
    return processor->processor.GetPieceSize();
}
int moin_spm_bos_id(const MoinSpmProcessor* processor) { return processor->processor.bos_id(); }
int moin_spm_eos_id(const MoinSpmProcessor* processor) { return processor->processor.eos_id(); }
int moin_spm_unk_id(const MoinSpmProcessor* processor) { return processor->processor.unk_id(); }
int moin_spm_pad_id(const MoinSpmProcessor* processor) { return processor->processor.pad_id(); }

int moin_spm_id_to_piece(const MoinSpmProcessor* processor, int id, char* out, size_t outSize)
{
    if (id < 0 || id >= processor->processor.GetPieceSize())
        return -1;
    const std::string& piece = processor->processor.IdToPiece(id);
    if (out && outSize > 0) {
        const size_t n = std::min(outSize - 1, piece.size());
        std::memcpy(out, piece.data(), n);
        out[n] = '\0';
    }
    return static_cast<int>(piece.size());
}

int moin_spm_piece_to_id(const MoinSpmProcessor* processor, const char* piece)
{
    return processor->processor.PieceToId(piece);
}

int moin_spm_train(const char* const* keys, const char* const* values, size_t count, char* err,
                   size_t errSize)
{
    return guarded(err, errSize, [&] {
        std::unordered_map<std::string, std::string> flags;
        for (size_t i = 0; i < count; ++i)
            flags[keys[i]] = values[i];
        const auto status = sentencepiece::SentencePieceTrainer::Train(flags);
        if (!status.ok())
            return fail(err, errSize, status.ToString());
        return 0;
    });
}

} // extern "C"
