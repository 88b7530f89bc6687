#pragma once
// The narrow C interface of libmoin_sentencepiece, the only code in the process that links
// sentencepiece. It is dlopen()ed with RTLD_LOCAL | RTLD_DEEPBIND so that sentencepiece's private
// copy of protobuf-lite 3.14 never meets LibTorch's protobuf 3.21 (see docs/ARCHITECTURE.md,
// "The dependency traps").
// Plain C types only: no exception and no C++ object crosses this boundary.
#include <stddef.h>
#include <stdint.h>

// Only these functions are exported from the shim (it is built with hidden visibility).
#pragma GCC visibility push(default)
extern "C" {

/// Bumped whenever a signature below changes; the loader refuses a shim of another version.
#define MOIN_SPM_ABI_VERSION 1

typedef struct MoinSpmProcessor MoinSpmProcessor;

/// Every function that can fail returns 0 on success, else writes a message into
/// err[0..errSize) (always NUL-terminated) and returns non-zero.
int moin_spm_abi_version(void);
int moin_spm_load(const char* modelPath, MoinSpmProcessor** out, char* err, size_t errSize);
void moin_spm_free(MoinSpmProcessor* processor);
/// *ids is malloc()ed by the shim; release it with moin_spm_free_buffer.
int moin_spm_encode(const MoinSpmProcessor* processor, const char* text, size_t textSize,
                    int32_t** ids, size_t* count, char* err, size_t errSize);
/// *text is malloc()ed by the shim (not NUL-terminated; size in *textSize).
int moin_spm_decode(const MoinSpmProcessor* processor, const int32_t* ids, size_t count,
                    char** text, size_t* textSize, char* err, size_t errSize);
void moin_spm_free_buffer(void* buffer);
int moin_spm_vocab_size(const MoinSpmProcessor* processor);
/// Special ids; -1 where the model has none.
int moin_spm_bos_id(const MoinSpmProcessor* processor);
int moin_spm_eos_id(const MoinSpmProcessor* processor);
int moin_spm_unk_id(const MoinSpmProcessor* processor);
int moin_spm_pad_id(const MoinSpmProcessor* processor);
/// Copies the piece of `id` into out (NUL-terminated, truncated to outSize); returns its length
/// or -1 for an id out of range.
int moin_spm_id_to_piece(const MoinSpmProcessor* processor, int id, char* out, size_t outSize);
int moin_spm_piece_to_id(const MoinSpmProcessor* processor, const char* piece);
/// Trains a model. keys/values are `count` trainer flags without the leading dashes
/// (input, model_prefix, vocab_size, ...), exactly as spm_train takes them.
int moin_spm_train(const char* const* keys, const char* const* values, size_t count, char* err,
                   size_t errSize);
}
#pragma GCC visibility pop
