// One chat turn (see chatturn.h): the prompt budget, the template, the title, the answer's text
// and the record, shared by the Chat view, the HTTP API and `moin chat`.
#include "moin/chatturn.h"

#include "moin/tokenizer.h"
#include "moin/workspace.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace moin {

namespace {

using json = nlohmann::json;

constexpr size_t kTitleChars = 48;
constexpr const char* kStoreDefaultTitle = "New conversation";

bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool isUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::string renderChatPrompt(const std::string& systemPrompt, const ChatTurns& turns,
                             size_t first)
{
    std::string text = systemPrompt.empty() ? std::string() : systemPrompt + "\n\n";
    for (size_t i = first; i < turns.size(); ++i) {
        const auto& [role, content] = turns[i];
        if (role == "system")
            continue;
        text += (role == "user" ? "User: " : "Assistant: ") + content + "\n";
    }
    return text + "Assistant:";
}

struct Fitted {
    std::string text;
    std::vector<int32_t> tokens; // without BOS
    int dropped = 0;
};

// The template of `turns` from the oldest whole exchange on that fits `maxTokens` text tokens.
// An exchange starts at a user message (a leading answer without its question is one too); the
// exchange of the last user message always stays.
Fitted fit(const std::string& systemPrompt, const ChatTurns& turns, const Tokenizer& tokenizer,
           int maxTokens)
{
    std::vector<size_t> starts;
    for (size_t i = 0; i < turns.size(); ++i) {
        if (turns[i].first == "system")
            continue;
        if (starts.empty() || turns[i].first == "user")
            starts.push_back(i);
    }
    if (starts.empty())
        starts.push_back(turns.size());
    Fitted out;
    for (size_t k = 0; k < starts.size(); ++k) {
        out.text = renderChatPrompt(systemPrompt, turns, starts[k]);
        out.tokens = tokenizer.encode(out.text);
        out.dropped = 0;
        for (size_t i = 0; i < starts[k]; ++i)
            out.dropped += turns[i].first != "system";
        if (int(out.tokens.size()) <= maxTokens)
            break;
    }
    return out;
}

} // namespace

int chatPromptBudget(int context, int maxNewTokens)
{
    return std::max(context - maxNewTokens, context / 4);
}

std::string buildChatPrompt(const std::string& systemPrompt, const ChatTurns& turns,
                            const Tokenizer& tokenizer, int maxTokens)
{
    return fit(systemPrompt, turns, tokenizer, maxTokens).text;
}

PromptTooLongError::PromptTooLongError(int promptTokens, int context)
    : Error("the system prompt and the question alone have " + std::to_string(promptTokens)
            + " tokens; the model's context holds " + std::to_string(context)
            + " and one position must stay for the answer (hint: shorten the question or the "
              "system prompt)")
    , promptTokens(promptTokens)
    , context(context)
{
}

ChatPrompt fitChatPrompt(const std::string& systemPrompt, const ChatTurns& turns,
                         const Tokenizer& tokenizer, int bosId, int context, int maxNewTokens)
{
    if (std::none_of(turns.begin(), turns.end(),
                     [](const auto& turn) { return turn.first == "user"; }))
        throw Error("a chat turn needs a question: the messages hold no user message");
    // One position of the budget is BOS's.
    Fitted fitted =
        fit(systemPrompt, turns, tokenizer, chatPromptBudget(context, maxNewTokens) - 1);
    ChatPrompt prompt;
    prompt.text = std::move(fitted.text);
    prompt.tokens.reserve(fitted.tokens.size() + 1);
    prompt.tokens.push_back(bosId);
    prompt.tokens.insert(prompt.tokens.end(), fitted.tokens.begin(), fitted.tokens.end());
    prompt.droppedMessages = fitted.dropped;
    if (int(prompt.tokens.size()) > context - 1)
        throw PromptTooLongError(int(prompt.tokens.size()), context);
    return prompt;
}

std::string chatTitle(const std::string& question)
{
    // Whitespace collapsed to single spaces, none at the ends.
    std::string simple;
    for (char c : question) {
        if (isSpace(c)) {
            if (!simple.empty() && simple.back() != ' ')
                simple += ' ';
        } else {
            simple += c;
        }
    }
    while (!simple.empty() && simple.back() == ' ')
        simple.pop_back();
    // Byte offsets of the first kTitleChars characters.
    size_t characters = 0;
    size_t end = 0;
    size_t lastSpace = std::string::npos;
    size_t lastSpaceCharacter = 0;
    while (end < simple.size() && characters < kTitleChars) {
        if (simple[end] == ' ') {
            lastSpace = end;
            lastSpaceCharacter = characters;
        }
        ++end;
        while (end < simple.size() && isUtf8Continuation(simple[end]))
            ++end;
        ++characters;
    }
    if (end == simple.size())
        return simple;
    if (lastSpace != std::string::npos && lastSpaceCharacter > kTitleChars / 2)
        end = lastSpace;
    return simple.substr(0, end) + "\xE2\x80\xA6"; // …
}

ChatTurns conversationTurns(const std::vector<ChatMessage>& messages)
{
    ChatTurns turns;
    bool answered = true;
    for (const ChatMessage& message : messages) {
        if (message.role == "user") {
            turns.push_back({"user", message.content});
            answered = false;
        } else if (message.role == "assistant" && !answered) {
            turns.push_back({"assistant", message.content});
            answered = true;
        }
    }
    return turns;
}

// ---- the answer's text ----

AnswerText::AnswerText(Kind kind, const Tokenizer* tokenizer, std::vector<std::string> stops)
    : m_kind(kind)
    , m_tokenizer(tokenizer)
    , m_stops(std::move(stops))
{
    m_stops.erase(std::remove(m_stops.begin(), m_stops.end(), std::string()), m_stops.end());
}

std::string AnswerText::push(const std::string& delta, int32_t token)
{
    if (m_stopped)
        return {};
    std::string piece = delta;
    if (m_kind == Kind::Continuation) {
        if (m_firstToken && token >= 0) {
            m_firstToken = false;
            m_spacePending = m_tokenizer
                             && m_tokenizer->idToPiece(token).rfind("\xE2\x96\x81", 0) == 0;
        }
        if (m_spacePending && !piece.empty()) {
            m_spacePending = false;
            if (piece[0] != ' ')
                piece.insert(0, 1, ' ');
        }
    }
    const std::string passed = stopFiltered(piece);
    return shaped(passed, m_stopped);
}

std::string AnswerText::finish()
{
    std::string rest;
    if (!m_stopped)
        rest.swap(m_stopHeld);
    m_stopHeld.clear();
    return shaped(rest, true);
}

// Cuts at the first stop string; holds back an end that may be the start of one.
std::string AnswerText::stopFiltered(const std::string& piece)
{
    if (m_stops.empty())
        return piece;
    m_stopHeld += piece;
    size_t first = std::string::npos;
    for (const std::string& stop : m_stops)
        first = std::min(first, m_stopHeld.find(stop));
    if (first != std::string::npos) {
        m_stopped = true;
        std::string out = m_stopHeld.substr(0, first);
        m_stopHeld.clear();
        return out;
    }
    size_t hold = 0;
    for (const std::string& stop : m_stops) {
        for (size_t k = std::min(stop.size() - 1, m_stopHeld.size()); k > hold; --k) {
            if (m_stopHeld.compare(m_stopHeld.size() - k, k, stop, 0, k) == 0) {
                hold = k;
                break;
            }
        }
    }
    std::string out = m_stopHeld.substr(0, m_stopHeld.size() - hold);
    m_stopHeld.erase(0, m_stopHeld.size() - hold);
    return out;
}

// A chat answer: no whitespace before its first character, trailing whitespace held back until
// more text follows (dropped at the end).
std::string AnswerText::shaped(const std::string& piece, bool end)
{
    if (m_kind != Kind::Chat) {
        m_text += piece;
        return piece;
    }
    std::string text = m_spaceHeld + piece;
    m_spaceHeld.clear();
    if (!m_started) {
        size_t start = 0;
        while (start < text.size() && isSpace(text[start]))
            ++start;
        text.erase(0, start);
        if (text.empty())
            return {};
        m_started = true;
    }
    size_t keep = text.size();
    while (keep > 0 && isSpace(text[keep - 1]))
        --keep;
    if (!end)
        m_spaceHeld = text.substr(keep);
    text.resize(keep);
    m_text += text;
    return text;
}

std::string chatAnswerText(const std::string& generated)
{
    AnswerText answer(AnswerText::Kind::Chat);
    answer.push(generated);
    answer.finish();
    return answer.text();
}

// ---- what is recorded ----

std::string candidatesToJson(const std::vector<RouteCandidate>& candidates)
{
    json list = json::array();
    for (const RouteCandidate& c : candidates)
        list.push_back({{"expert", c.expert},
                        {"distance", std::isfinite(c.distance) ? json(c.distance) : json()}});
    return list.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<RouteCandidate> candidatesFromJson(const std::string& text)
{
    std::vector<RouteCandidate> out;
    const json list = json::parse(text, nullptr, false);
    if (!list.is_array())
        return out;
    for (const json& item : list) {
        if (!item.is_object() || !item.contains("expert") || !item["expert"].is_number_integer())
            continue;
        RouteCandidate c;
        c.expert = item["expert"].get<int>();
        const auto distance = item.find("distance");
        c.distance = distance != item.end() && distance->is_number() ? distance->get<float>()
                                                                      : std::nanf("");
        out.push_back(c);
    }
    return out;
}

double answerDistance(const CompletionResult& result)
{
    if (result.answeredBy == "base")
        return std::nan("");
    for (const RouteCandidate& c : result.route.candidates) {
        if (std::to_string(c.expert) == result.answeredBy)
            return c.distance;
    }
    if (std::to_string(result.route.expert) == result.answeredBy)
        return result.route.distance;
    return std::nan("");
}

double tokensPerSecond(const GenerationResult& generation)
{
    return generation.decodeSeconds > 0
               ? double(generation.tokens.size()) / generation.decodeSeconds
               : 0.0;
}

// ---- the turn ----

CompletionRequest ChatTurn::request(const ExpertChoice& choice) const
{
    CompletionRequest out;
    out.prompt = prompt.text;
    out.routingText = question;
    out.expert = choice;
    out.options = options;
    return out;
}

ChatMessage ChatTurn::answer(const CompletionResult& result, const std::string& text,
                             const std::string& choice, const std::string& stopReason) const
{
    const GenerationResult& g = result.generation;
    ChatMessage message;
    message.conversationId = conversationId;
    message.role = "assistant";
    message.content = text;
    message.answeredBy = result.answeredBy;
    message.expertChoice = choice;
    message.distance = answerDistance(result);
    message.candidatesJson = candidatesToJson(result.route.candidates);
    message.runId = runId;
    message.promptTokens = g.promptTokens;
    message.completionTokens = int(g.tokens.size());
    message.latencySeconds = result.totalSeconds;
    message.firstTokenSeconds = result.firstTokenSeconds;
    message.tokensPerSecond = tokensPerSecond(g);
    message.stopReason = stopReason.empty() ? g.stopReason : stopReason;
    return message;
}

ChatTurn prepareChatTurn(const std::string& systemPrompt, ChatTurns turns,
                         const GenerationOptions& options, const ServingEngine& engine)
{
    options.validate();
    ChatTurn turn;
    turn.systemPrompt = systemPrompt;
    turn.options = options;
    turn.runId = engine.runId();
    for (const auto& [role, content] : turns) {
        if (role == "user")
            turn.question = content;
    }
    const LlamaConfig& config = engine.baseConfig();
    turn.prompt = fitChatPrompt(systemPrompt, turns, engine.tokenizer(), config.bosTokenId,
                                int(config.maxPositions), options.maxNewTokens);
    turn.turns = std::move(turns);
    return turn;
}

// ---- the session ----

ChatSession::ChatSession(Workspace& workspace, int64_t conversationId)
    : m_workspace(workspace)
    , m_conversation(ConversationStore(workspace).get(conversationId))
{
}

ChatSession::ChatSession(Workspace& workspace, Conversation fresh)
    : m_workspace(workspace)
    , m_conversation(std::move(fresh))
{
    m_conversation.id = 0;
}

void ChatSession::update(const Conversation& settings)
{
    m_conversation.systemPrompt = settings.systemPrompt;
    m_conversation.options = settings.options;
    m_conversation.expertChoice = settings.expertChoice;
    if (m_conversation.id != 0)
        ConversationStore(m_workspace).update(m_conversation);
}

ChatTurn ChatSession::ask(const std::string& question, const ServingEngine& engine)
{
    ConversationStore store(m_workspace);
    ChatTurns turns;
    if (m_conversation.id != 0)
        turns = conversationTurns(store.messages(m_conversation.id));
    turns.push_back({"user", question});
    ChatTurn turn = prepareChatTurn(m_conversation.systemPrompt, std::move(turns),
                                    m_conversation.options, engine);
    const auto placeholder = [this](const std::string& title) {
        return title.empty() || title == kStoreDefaultTitle
               || (!m_placeholder.empty() && title == m_placeholder);
    };
    if (m_conversation.id == 0) {
        if (placeholder(m_conversation.title))
            m_conversation.title = chatTitle(question);
        m_conversation.id = store.create(m_conversation);
    } else if (m_conversation.messageCount == 0 && placeholder(m_conversation.title)) {
        m_conversation.title = chatTitle(question);
        store.update(m_conversation);
    }
    ChatMessage message;
    message.conversationId = m_conversation.id;
    message.role = "user";
    message.content = question;
    store.addMessage(message);
    m_conversation = store.get(m_conversation.id);
    turn.conversationId = m_conversation.id;
    return turn;
}

int64_t ChatSession::record(const ChatMessage& answer)
{
    ChatMessage message = answer;
    message.conversationId = m_conversation.id;
    const int64_t id = ConversationStore(m_workspace).addMessage(message);
    ++m_conversation.messageCount;
    return id;
}

int64_t ChatSession::recordExchange(Workspace& workspace, Conversation settings,
                                    const ChatTurn& turn, const ChatMessage* answer)
{
    ConversationStore store(workspace);
    settings.title = chatTitle(turn.question);
    settings.systemPrompt = turn.systemPrompt;
    settings.options = turn.options;
    const int64_t id = store.create(settings);
    ChatMessage message;
    message.conversationId = id;
    if (!turn.systemPrompt.empty()) {
        message.role = "system";
        message.content = turn.systemPrompt;
        store.addMessage(message);
    }
    for (const auto& [role, content] : turn.turns) {
        message.role = role;
        message.content = content;
        store.addMessage(message);
    }
    if (answer) {
        ChatMessage recorded = *answer;
        recorded.conversationId = id;
        store.addMessage(recorded);
    }
    return id;
}

} // namespace moin
