// Conversations and messages in the workspace database and their exports (a chat turn's prompt
// and record: chatturn.cpp).
#include "moin/conversations.h"

#include "moin/error.h"
#include "moin/workspace.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

namespace moin {

namespace {

using json = nlohmann::json;

json optionsJson(const GenerationOptions& o)
{
    return {{"max_new_tokens", o.maxNewTokens}, {"temperature", o.temperature},
            {"top_k", o.topK},                  {"top_p", o.topP},
            {"repetition_penalty", o.repetitionPenalty}, {"stop_at_eos", o.stopAtEos},
            {"seed", o.seed}};
}

GenerationOptions optionsFrom(const std::string& text)
{
    GenerationOptions o;
    const json j = json::parse(text, nullptr, false);
    if (!j.is_object())
        return o;
    o.maxNewTokens = j.value("max_new_tokens", o.maxNewTokens);
    o.temperature = j.value("temperature", o.temperature);
    o.topK = j.value("top_k", o.topK);
    o.topP = j.value("top_p", o.topP);
    o.repetitionPenalty = j.value("repetition_penalty", o.repetitionPenalty);
    o.stopAtEos = j.value("stop_at_eos", o.stopAtEos);
    o.seed = j.value("seed", o.seed);
    return o;
}

const char* kConversationColumns =
    "c.id, c.title, c.system_prompt, c.options, c.expert_choice, c.source, c.created_at, "
    "c.updated_at, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)";

Conversation readConversation(const Statement& row)
{
    Conversation c;
    c.id = row.columnInt64(0);
    c.title = row.columnText(1);
    c.systemPrompt = row.columnText(2);
    c.options = optionsFrom(row.columnText(3));
    c.expertChoice = row.columnText(4);
    c.source = row.columnText(5);
    c.createdAt = row.columnText(6);
    c.updatedAt = row.columnText(7);
    c.messageCount = row.columnInt64(8);
    return c;
}

json numberOrNull(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

} // namespace

ConversationStore::ConversationStore(Workspace& workspace) : m_workspace(workspace) {}

int64_t ConversationStore::create(const Conversation& c)
{
    c.options.validate();
    Database& db = m_workspace.database();
    Transaction transaction(db);
    db.prepare("INSERT INTO conversations (title, system_prompt, options, expert_choice, source) "
               "VALUES (?, ?, ?, ?, ?)")
        .bind(1, c.title.empty() ? std::string("New conversation") : c.title)
        .bind(2, c.systemPrompt)
        .bind(3, optionsJson(c.options).dump())
        .bind(4, c.expertChoice.empty() ? std::string("auto") : c.expertChoice)
        .bind(5, c.source.empty() ? std::string("app") : c.source)
        .run();
    const int64_t id = db.lastInsertRowId();
    transaction.commit();
    return id;
}

void ConversationStore::update(const Conversation& c)
{
    c.options.validate();
    Database& db = m_workspace.database();
    Transaction transaction(db);
    db.prepare("UPDATE conversations SET title = ?, system_prompt = ?, options = ?, "
               "expert_choice = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
               "WHERE id = ?")
        .bind(1, c.title)
        .bind(2, c.systemPrompt)
        .bind(3, optionsJson(c.options).dump())
        .bind(4, c.expertChoice)
        .bind(5, c.id)
        .run();
    if (db.changes() == 0)
        throw Error("there is no conversation " + std::to_string(c.id));
    transaction.commit();
}

void ConversationStore::remove(int64_t id)
{
    Database& db = m_workspace.database();
    Transaction transaction(db);
    db.prepare("DELETE FROM conversations WHERE id = ?").bind(1, id).run();
    transaction.commit();
}

std::vector<Conversation> ConversationStore::list()
{
    Statement query = m_workspace.database().prepare(
        std::string("SELECT ") + kConversationColumns
        + " FROM conversations c ORDER BY c.updated_at DESC, c.id DESC");
    std::vector<Conversation> out;
    while (query.step())
        out.push_back(readConversation(query));
    return out;
}

Conversation ConversationStore::get(int64_t id)
{
    Statement query = m_workspace.database().prepare(
        std::string("SELECT ") + kConversationColumns + " FROM conversations c WHERE c.id = ?");
    query.bind(1, id);
    if (!query.step())
        throw Error("there is no conversation " + std::to_string(id));
    return readConversation(query);
}

int64_t ConversationStore::addMessage(const ChatMessage& m)
{
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
        throw Error("message role must be system, user or assistant; got \"" + m.role + "\"");
    Database& db = m_workspace.database();
    Transaction transaction(db);
    Statement insert = db.prepare(
        "INSERT INTO messages (conversation_id, role, content, answered_by, expert_choice, "
        "distance, candidates, prompt_tokens, completion_tokens, latency_seconds, "
        "first_token_seconds, tokens_per_second, stop_reason, run_id) "
        "SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ?1 = 'assistant' THEN "
        "COALESCE(NULLIF(?14, 0), (SELECT id FROM cluster_runs WHERE active = 1 AND "
        "status = 'done')) END FROM conversations WHERE id = ?13");
    insert.bind(1, m.role).bind(2, m.content).bind(3, m.answeredBy).bind(4, m.expertChoice);
    if (std::isfinite(m.distance))
        insert.bind(5, m.distance);
    else
        insert.bindNull(5);
    insert.bind(6, m.candidatesJson.empty() ? std::string("[]") : m.candidatesJson)
        .bind(7, m.promptTokens)
        .bind(8, m.completionTokens)
        .bind(9, m.latencySeconds)
        .bind(10, m.firstTokenSeconds)
        .bind(11, m.tokensPerSecond)
        .bind(12, m.stopReason)
        .bind(13, m.conversationId)
        .bind(14, m.runId)
        .run();
    if (db.changes() == 0)
        throw Error("there is no conversation " + std::to_string(m.conversationId));
    const int64_t id = db.lastInsertRowId();
    db.prepare("UPDATE conversations SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
               "WHERE id = ?")
        .bind(1, m.conversationId)
        .run();
    transaction.commit();
    return id;
}

std::vector<ChatMessage> ConversationStore::messages(int64_t conversationId)
{
    Statement query = m_workspace.database().prepare(
        "SELECT id, conversation_id, role, content, answered_by, expert_choice, distance, "
        "candidates, prompt_tokens, completion_tokens, latency_seconds, first_token_seconds, "
        "tokens_per_second, stop_reason, created_at, COALESCE(run_id, 0) FROM messages "
        "WHERE conversation_id = ? "
        "ORDER BY id");
    query.bind(1, conversationId);
    std::vector<ChatMessage> out;
    while (query.step()) {
        ChatMessage m;
        m.id = query.columnInt64(0);
        m.conversationId = query.columnInt64(1);
        m.role = query.columnText(2);
        m.content = query.columnText(3);
        m.answeredBy = query.columnText(4);
        m.expertChoice = query.columnText(5);
        m.distance = query.isNull(6) ? std::nan("") : query.columnDouble(6);
        m.candidatesJson = query.columnText(7);
        m.promptTokens = int(query.columnInt64(8));
        m.completionTokens = int(query.columnInt64(9));
        m.latencySeconds = query.columnDouble(10);
        m.firstTokenSeconds = query.columnDouble(11);
        m.tokensPerSecond = query.columnDouble(12);
        m.stopReason = query.columnText(13);
        m.createdAt = query.columnText(14);
        m.runId = query.columnInt64(15);
        out.push_back(std::move(m));
    }
    return out;
}

std::string ConversationStore::exportMarkdown(int64_t id)
{
    const Conversation c = get(id);
    std::ostringstream out;
    out << "# " << c.title << "\n\n";
    out << "- Created: " << c.createdAt << "\n- Answers by: " << c.expertChoice
        << "\n- Sampling: temperature " << c.options.temperature << ", top-p " << c.options.topP
        << ", top-k " << c.options.topK << ", max tokens " << c.options.maxNewTokens << "\n";
    if (!c.systemPrompt.empty())
        out << "- System prompt: " << c.systemPrompt << "\n";
    out << "\n";
    for (const ChatMessage& m : messages(id)) {
        if (m.role == "user") {
            out << "## User\n\n" << m.content << "\n\n";
        } else if (m.role == "system") {
            out << "## System\n\n" << m.content << "\n\n";
        } else {
            out << "## Assistant (" << (m.answeredBy == "base" ? "base model"
                                                                : "expert " + m.answeredBy)
                << ")\n\n"
                << m.content << "\n\n";
            std::ostringstream badge;
            badge << "> routed: " << m.expertChoice;
            if (std::isfinite(m.distance))
                badge << " · distance " << m.distance;
            const json candidates = json::parse(m.candidatesJson, nullptr, false);
            if (candidates.is_array() && candidates.size() > 1) {
                badge << " · runner-ups";
                for (size_t i = 1; i < candidates.size(); ++i)
                    badge << " " << candidates[i].value("expert", -1) << " ("
                          << candidates[i].value("distance", 0.0) << ")";
            }
            badge << " · " << m.completionTokens << " tokens, " << m.tokensPerSecond
                  << " tokens/s, " << m.latencySeconds << " s (" << m.stopReason << ")";
            out << badge.str() << "\n\n";
        }
    }
    return out.str();
}

std::string ConversationStore::exportJson(int64_t id)
{
    const Conversation c = get(id);
    json list = json::array();
    for (const ChatMessage& m : messages(id)) {
        list.push_back({{"id", m.id},
                        {"role", m.role},
                        {"content", m.content},
                        {"answered_by", m.answeredBy},
                        {"expert_choice", m.expertChoice},
                        {"distance", numberOrNull(m.distance)},
                        {"candidates", json::parse(m.candidatesJson, nullptr, false)},
                        {"prompt_tokens", m.promptTokens},
                        {"completion_tokens", m.completionTokens},
                        {"latency_seconds", m.latencySeconds},
                        {"first_token_seconds", m.firstTokenSeconds},
                        {"tokens_per_second", m.tokensPerSecond},
                        {"stop_reason", m.stopReason},
                        {"created_at", m.createdAt}});
    }
    const json out = {{"conversation",
                       {{"id", c.id},
                        {"title", c.title},
                        {"system_prompt", c.systemPrompt},
                        {"options", optionsJson(c.options)},
                        {"expert_choice", c.expertChoice},
                        {"source", c.source},
                        {"created_at", c.createdAt},
                        {"updated_at", c.updatedAt}}},
                      {"messages", list}};
    return out.dump(2) + "\n";
}

} // namespace moin
