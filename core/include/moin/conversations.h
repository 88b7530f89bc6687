#pragma once
// Conversations kept in the workspace: every message with the expert that answered it, how close
// the query was to that expert's centroid, the runner-ups, tokens, latency and speed; a system
// prompt and sampling settings per conversation; export to Markdown and JSON.
#include "moin/model.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moin {

class Workspace;

struct Conversation {
    int64_t id = 0;
    std::string title;
    std::string systemPrompt;
    GenerationOptions options;
    /// "auto", "base" or an expert id: who answers new messages.
    std::string expertChoice = "auto";
    /// "app", "cli", "api".
    std::string source = "app";
    std::string createdAt;
    std::string updatedAt;
    int64_t messageCount = 0;
};

struct ChatMessage {
    int64_t id = 0;
    int64_t conversationId = 0;
    /// "system", "user" or "assistant".
    std::string role;
    std::string content;
    /// Assistant messages: "base" or the expert id that answered, and what was asked for
    /// ("auto", "base", an id).
    std::string answeredBy;
    std::string expertChoice;
    /// Distance of the routing text to the answering expert's centroid (NaN for the base), and
    /// the runner-ups as JSON [{"expert": 3, "distance": 0.41}, ...].
    double distance = 0;
    std::string candidatesJson = "[]";
    /// Assistant messages: the clustering run whose router made that decision. 0 when adding
    /// means the workspace's active run at that moment; read back, 0 means not recorded.
    int64_t runId = 0;
    int promptTokens = 0;
    int completionTokens = 0;
    double latencySeconds = 0;
    double firstTokenSeconds = 0;
    double tokensPerSecond = 0;
    /// "eos", "length", "cancelled", ... ("" for user messages).
    std::string stopReason;
    std::string createdAt;
};

/// The workspace's conversations. Each change is one transaction.
class ConversationStore {
public:
    explicit ConversationStore(Workspace& workspace);

    /// Returns the new conversation's id; the options are validated.
    int64_t create(const Conversation& conversation);
    /// Title, system prompt, options and expert choice of an existing conversation.
    void update(const Conversation& conversation);
    void remove(int64_t id);
    /// Newest first.
    std::vector<Conversation> list();
    /// Throws moin::Error for an unknown id.
    Conversation get(int64_t id);

    /// Appends a message; returns its id. Throws moin::Error for an unknown conversation or
    /// role.
    int64_t addMessage(const ChatMessage& message);
    /// In order.
    std::vector<ChatMessage> messages(int64_t conversationId);

    /// A readable transcript: title, settings, each message with its expert badge.
    std::string exportMarkdown(int64_t id);
    /// {"conversation": {...}, "messages": [...]} with every recorded field.
    std::string exportJson(int64_t id);

private:
    Workspace& m_workspace;
};

} // namespace moin
