#pragma once
// One chat turn, written once: the Chat view, the HTTP API and `moin chat` all ask through here.
// A turn is: the conversation so far and a question → the prompt under the one budget rule →
// the engine's request → the answer's text (the SentencePiece leading-space fix, stop strings)
// → the recorded exchange in the workspace's ConversationStore.
//
// The prompt budget rule (chatPromptBudget): the prompt, BOS included, may use
//     max(context − maxNewTokens, context / 4)
// positions. The answer gets every token it asks for up to three quarters of the context; the
// conversation always keeps at least a quarter of the context for its history (with max tokens
// near the context it still remembers its recent turns). Over the budget, the oldest whole
// exchanges (a question and its answers) go first; the system prompt and the newest question are
// never dropped. If those two alone leave no position for one answer token, the turn is refused
// with PromptTooLongError (never silently cut: a question cut in the middle is a different
// question). A quarter, not the API's former half: how long the answer may be is what the person
// asked for with max tokens; the history is what can be shortened.
#include "moin/conversations.h"
#include "moin/error.h"
#include "moin/serving.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace moin {

class Tokenizer;
class Workspace;

/// Messages as the prompt sees them: (role, content), role "user" or "assistant", oldest first.
using ChatTurns = std::vector<std::pair<std::string, std::string>>;

/// Positions the prompt may use (BOS included) under the one budget rule (see above).
int chatPromptBudget(int context, int maxNewTokens);

/// The plain-text chat template for a base model that was not instruction-tuned:
///   "<system>\n\nUser: ...\nAssistant: ...\nUser: ...\nAssistant:"
/// (servingexport.cpp writes the same as a Jinja template for vLLM). The oldest whole exchanges
/// are dropped until the text has at most `maxTokens` tokens (BOS not counted); the system prompt
/// and the exchange of the last user message always stay, even over `maxTokens`.
std::string buildChatPrompt(const std::string& systemPrompt, const ChatTurns& turns,
                            const Tokenizer& tokenizer, int maxTokens);

/// A prompt fitted to the budget.
struct ChatPrompt {
    std::string text;
    /// What the model reads: BOS, then the text's tokens.
    std::vector<int32_t> tokens;
    /// Messages of the history left out to fit (oldest first).
    int droppedMessages = 0;
};

/// The system prompt and the newest question alone do not fit the context.
class PromptTooLongError : public Error {
public:
    PromptTooLongError(int promptTokens, int context);
    int promptTokens;
    int context;
};

/// The prompt of `turns` (the last user message is the question) under chatPromptBudget.
/// Throws PromptTooLongError when even the system prompt and the question leave no position for
/// an answer token, moin::Error when `turns` has no user message.
ChatPrompt fitChatPrompt(const std::string& systemPrompt, const ChatTurns& turns,
                         const Tokenizer& tokenizer, int bosId, int context, int maxNewTokens);

/// A conversation's title from its first question: the question's whitespace collapsed, at most
/// 48 characters, cut after a whole word where one ends in its second half, then "…".
std::string chatTitle(const std::string& question);

/// The turns of recorded messages: every question with its first answer (a comparison's second
/// answer is not part of the conversation); system messages are left out (the conversation's
/// system prompt is the one that counts).
ChatTurns conversationTurns(const std::vector<ChatMessage>& messages);

/// Generated text as the person reads it, piece by piece as the tokens come.
///   Chat: an answer follows "Assistant:", so the model's first piece may start with the space
///   (or a newline) after the colon: an answer never starts or ends with whitespace; trailing
///   whitespace is held back until more text follows, so the pieces add up to the final text.
///   Continuation: the text continues a prompt; decoding the new tokens alone drops the space
///   of a first token that begins a word ("▁of": "The king" + "of"), which is put back.
/// Stop strings cut the text at the first one (text that may start one is held back).
class AnswerText {
public:
    enum class Kind { Chat, Continuation };
    /// `tokenizer` is needed (and kept) for Continuation only.
    explicit AnswerText(Kind kind, const Tokenizer* tokenizer = nullptr,
                        std::vector<std::string> stops = {});

    /// The text of a new token (possibly empty mid-character) and its id; returns what can be
    /// shown now (possibly empty).
    std::string push(const std::string& delta, int32_t token = -1);
    /// The end of generation: what was held back and may be shown.
    std::string finish();
    /// A stop string was met: generation may end.
    bool stopped() const { return m_stopped; }
    /// Everything returned so far.
    const std::string& text() const { return m_text; }

private:
    std::string stopFiltered(const std::string& piece);
    std::string shaped(const std::string& piece, bool end);

    Kind m_kind;
    const Tokenizer* m_tokenizer;
    std::vector<std::string> m_stops;
    std::string m_stopHeld;
    std::string m_spaceHeld;
    std::string m_text;
    bool m_stopped = false;
    bool m_started = false;
    bool m_firstToken = true;
    bool m_spacePending = false;
};

/// The whole generated text of a chat answer as AnswerText(Chat) gives it.
std::string chatAnswerText(const std::string& generated);

/// Runner-ups as stored with a message: [{"expert": 3, "distance": 0.41}, ...].
std::string candidatesToJson(const std::vector<RouteCandidate>& candidates);
/// The reverse; an unreadable text gives none.
std::vector<RouteCandidate> candidatesFromJson(const std::string& json);
/// The answering expert's distance to the routing text; NaN for the base or when unknown.
double answerDistance(const CompletionResult& result);
/// New tokens over the time from the first token on.
double tokensPerSecond(const GenerationResult& generation);

/// One question asked: its prompt and what the engine is asked with.
struct ChatTurn {
    /// The conversation it belongs to (0: not recorded, the API's).
    int64_t conversationId = 0;
    /// The clustering run whose router answers it (the engine's), recorded with the answer.
    int64_t runId = 0;
    std::string systemPrompt;
    /// The history and the question (last user message).
    ChatTurns turns;
    /// The last user message: what the router routes on.
    std::string question;
    GenerationOptions options;
    ChatPrompt prompt;

    /// The engine's request for `choice` (onToken and cancel left to the caller, who passes the
    /// tokens through an AnswerText(Chat)).
    CompletionRequest request(const ExpertChoice& choice) const;
    /// The assistant message recording `result`, whose shown text is `text` (from AnswerText),
    /// asked of `choice`; `stopReason` overrides the engine's when not empty.
    ChatMessage answer(const CompletionResult& result, const std::string& text,
                       const std::string& choice, const std::string& stopReason = {}) const;
};

/// The turn of `turns` (history and question) with `systemPrompt` and `options`, its prompt
/// fitted to `engine`'s context. Throws PromptTooLongError or moin::Error.
ChatTurn prepareChatTurn(const std::string& systemPrompt, ChatTurns turns,
                         const GenerationOptions& options, const ServingEngine& engine);

/// A conversation in the workspace, asked one question at a time (the Chat view, `moin chat`).
/// Uses the workspace's connection on the caller's thread.
class ChatSession {
public:
    /// Continues conversation `id`; throws moin::Error for an unknown one.
    ChatSession(Workspace& workspace, int64_t conversationId);
    /// A new conversation with `fresh`'s settings, created when its first question is asked.
    ChatSession(Workspace& workspace, Conversation fresh);

    /// 0 until the first question of a new conversation.
    int64_t conversationId() const { return m_conversation.id; }
    const Conversation& conversation() const { return m_conversation; }
    /// Changes the settings (system prompt, options, expert choice) of later turns; stored when
    /// the conversation exists.
    void update(const Conversation& settings);
    /// Besides the store's "New conversation", a title that means "not named yet" (the app's
    /// translation of it).
    void setPlaceholderTitle(const std::string& title) { m_placeholder = title; }

    /// Builds the prompt of `question` after the recorded messages (nothing is written if that
    /// throws PromptTooLongError), then records the question: the conversation is created, or
    /// named after its first question while its title is a placeholder (chatTitle).
    ChatTurn ask(const std::string& question, const ServingEngine& engine);
    /// Records an answer of `turn` (ChatTurn::answer); returns the message id.
    int64_t record(const ChatMessage& answer);

    /// Records a whole exchange that lives in no conversation yet (an API request): a new
    /// conversation with `settings` (titled after the turn's question), the system prompt, every
    /// turn, and the answer unless there is none. Returns the conversation id.
    static int64_t recordExchange(Workspace& workspace, Conversation settings,
                                  const ChatTurn& turn, const ChatMessage* answer);

private:
    Workspace& m_workspace;
    Conversation m_conversation;
    std::string m_placeholder;
};

} // namespace moin
