// Forwarding to an upstream OpenAI-compatible server with cpp-httplib's client. Every failure
// becomes an UpstreamFailure whose message says which upstream, what happened and what to do.
#include "upstream.h"

#include "moin/error.h"

#include <httplib.h>

#include <chrono>
#include <cmath>

namespace moin {

namespace {

using json = nlohmann::json;

const char* const kStartHint
    = "start it (`moin serve WS --port PORT`, or the launch-vllm.sh that `moin export-serving` "
      "wrote) or correct --upstream";

// The upstream's own error message, if its body is OpenAI's {"error": {"message": ...}}.
std::string upstreamMessage(const std::string& body, json* error)
{
    try {
        const json parsed = json::parse(body);
        if (parsed.is_object() && parsed.contains("error")) {
            const json& e = parsed["error"];
            if (error && e.is_object())
                *error = e;
            if (e.is_object() && e.contains("message") && e["message"].is_string())
                return e["message"].get<std::string>();
            if (e.is_string())
                return e.get<std::string>();
        }
        if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string())
            return parsed["message"].get<std::string>(); // FastAPI-style {"message": ...}
        if (parsed.is_object() && parsed.contains("detail"))
            return parsed["detail"].dump();
    } catch (const json::exception&) {
    }
    std::string text = body.substr(0, 300);
    return text.empty() ? std::string("(empty body)") : text;
}

// `elapsed`: seconds the request took; a read that failed well before the timeout was a closed
// connection, not a slow upstream.
UpstreamFailure transportFailure(
    httplib::Error error, const std::string& url, double timeout, double elapsed)
{
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", timeout);
    switch (error) {
    case httplib::Error::Connection:
        return UpstreamFailure(502,
            "the upstream server " + url
                + " could not be reached (connection refused or host unreachable): is it "
                  "running? "
                + kStartHint,
            "upstream_unreachable");
    case httplib::Error::ConnectionTimeout:
        return UpstreamFailure(504,
            "the upstream server " + url + " did not accept the connection within " + seconds
                + " s (--upstream-timeout): is the host up and the port open? " + kStartHint,
            "upstream_timeout");
    case httplib::Error::Read:
        if (elapsed < 0.9 * timeout)
            return UpstreamFailure(502,
                "the upstream server " + url
                    + " closed the connection without a complete answer (did it crash or "
                      "restart?); check its log and retry",
                "upstream_closed");
        return UpstreamFailure(504,
            "the upstream server " + url + " did not answer within " + seconds
                + " s (--upstream-timeout): it may be overloaded or stuck; retry, raise "
                  "--upstream-timeout, or check its log",
            "upstream_timeout");
    case httplib::Error::Write:
        return UpstreamFailure(502,
            "the upstream server " + url
                + " closed the connection while the request was sent; check its log",
            "upstream_unreachable");
    default:
        return UpstreamFailure(502,
            "the request to the upstream server " + url + " failed ("
                + httplib::to_string(error) + "); check that --upstream names an "
                                              "OpenAI-compatible server",
            "upstream_error");
    }
}

void setTimeouts(httplib::Client& client, double seconds)
{
    const auto duration = std::chrono::microseconds(int64_t(seconds * 1e6));
    client.set_connection_timeout(duration);
    client.set_read_timeout(duration);
    client.set_write_timeout(duration);
}

} // namespace

UpstreamFailure::UpstreamFailure(int status, const std::string& message, std::string code,
    std::string type, std::string param)
    : std::runtime_error(message)
    , status(status)
    , code(std::move(code))
    , type(std::move(type))
    , param(std::move(param))
{
}

// ---- UpstreamClient ----

UpstreamClient::UpstreamClient(UpstreamOptions options)
    : m_options(std::move(options))
{
    const std::string& url = m_options.url;
    const size_t scheme = url.find("://");
    if (scheme == std::string::npos
        || (url.compare(0, scheme, "http") != 0 && url.compare(0, scheme, "https") != 0))
        throw Error("the upstream URL must start with http:// or https://; got '" + url
            + "' (e.g. --upstream http://127.0.0.1:8000)");
    const size_t pathStart = url.find('/', scheme + 3);
    m_origin = url.substr(0, pathStart);
    if (m_origin.size() <= scheme + 3)
        throw Error("the upstream URL '" + url + "' names no host (e.g. http://127.0.0.1:8000)");
    std::string path = pathStart == std::string::npos ? std::string() : url.substr(pathStart);
    while (!path.empty() && path.back() == '/')
        path.pop_back();
    if (path.size() >= 3 && path.compare(path.size() - 3, 3, "/v1") == 0)
        path.erase(path.size() - 3);
    m_prefix = path;
    if (!(m_options.timeoutSeconds > 0) || !std::isfinite(m_options.timeoutSeconds))
        throw Error("the upstream timeout must be more than 0 seconds");
    if (!connect()->is_valid())
        throw Error("the upstream URL '" + url + "' is not valid (e.g. http://127.0.0.1:8000)");
}

UpstreamClient::~UpstreamClient() = default;

std::unique_ptr<httplib::Client> UpstreamClient::connect() const
{
    auto client = std::make_unique<httplib::Client>(m_origin);
    setTimeouts(*client, m_options.timeoutSeconds);
    client->set_keep_alive(false);
    if (!m_options.apiKey.empty())
        client->set_bearer_token_auth(m_options.apiKey);
    return client;
}

UpstreamFailure UpstreamClient::statusFailure(int status, const std::string& body) const
{
    json error;
    const std::string message = upstreamMessage(body, &error);
    const std::string what = "the upstream server " + url() + " answered HTTP "
        + std::to_string(status) + ": " + message;
    if (status == 401 || status == 403)
        return UpstreamFailure(502, what + " (hint: give its key with --upstream-key)",
            "upstream_unauthorized");
    if (status == 404)
        return UpstreamFailure(502,
            what
                + " (hint: the upstream must hold every expert as an adapter named expert-N and "
                  "the base model as 'base'; start it with the command `moin export-serving` "
                  "wrote, or point --upstream at a `moin serve` of the same run)",
            "upstream_model_not_found");
    if (status >= 400 && status < 500) {
        // The request itself was refused (too long, bad option): the client can fix it.
        const std::string type = error.value("type", std::string("invalid_request_error"));
        std::string code = "upstream_refused";
        if (error.contains("code") && error["code"].is_string())
            code = error["code"].get<std::string>();
        std::string param;
        if (error.contains("param") && error["param"].is_string())
            param = error["param"].get<std::string>();
        return UpstreamFailure(status, what, code, type, param);
    }
    return UpstreamFailure(
        502, what + " (check the upstream's log; retry when it is healthy)", "upstream_error");
}

json UpstreamClient::post(const std::string& path, const std::string& body) const
{
    const std::unique_ptr<httplib::Client> client = connect();
    const auto start = std::chrono::steady_clock::now();
    const httplib::Result result = client->Post(m_prefix + path, body, "application/json");
    if (!result)
        throw transportFailure(result.error(), url(), m_options.timeoutSeconds,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (result->status != 200)
        throw statusFailure(result->status, result->body);
    std::string problem;
    json answer;
    try {
        answer = json::parse(result->body);
        if (!answer.is_object() || !answer.contains("choices") || !answer["choices"].is_array()
            || answer["choices"].empty() || !answer["choices"][0].is_object())
            problem = "it has no 'choices' list";
    } catch (const json::exception& e) {
        problem = std::string("it is not JSON: ") + e.what();
    }
    if (problem.empty())
        return answer;
    throw UpstreamFailure(502,
        "the upstream server " + url() + " answered HTTP 200 but not with an OpenAI completion ("
            + problem + "; body begins: " + result->body.substr(0, 120)
            + "): is --upstream an OpenAI-compatible server?",
        "upstream_bad_response");
}

std::shared_ptr<UpstreamStream> UpstreamClient::stream(
    const std::string& path, const std::string& body) const
{
    std::shared_ptr<UpstreamStream> stream(new UpstreamStream());
    stream->m_client = connect();
    stream->m_url = url();
    stream->m_timeoutSeconds = m_options.timeoutSeconds;
    UpstreamStream* s = stream.get(); // the thread is joined before the stream dies
    s->m_lastData = std::chrono::steady_clock::now();
    const std::string fullPath = m_prefix + path;
    stream->m_thread = std::thread([s, fullPath, body] {
        httplib::Request request;
        request.method = "POST";
        request.path = fullPath;
        request.body = body;
        request.set_header("Content-Type", "application/json");
        request.set_header("Accept", "text/event-stream");
        request.response_handler = [s](const httplib::Response& response) {
            std::lock_guard<std::mutex> lock(s->m_mutex);
            s->m_lastData = std::chrono::steady_clock::now();
            s->m_started = true;
            s->m_status = response.status;
            s->m_changed.notify_all();
            return !s->m_cancelled.load();
        };
        request.content_receiver = [s](const char* data, size_t size, uint64_t, uint64_t) {
            std::lock_guard<std::mutex> lock(s->m_mutex);
            s->m_lastData = std::chrono::steady_clock::now();
            s->m_buffer.append(data, size);
            s->m_changed.notify_all();
            return !s->m_cancelled.load();
        };
        httplib::Response response;
        httplib::Error error = httplib::Error::Success;
        s->m_client->send(request, response, error);
        std::lock_guard<std::mutex> lock(s->m_mutex);
        s->m_done = true;
        s->m_endedAt = std::chrono::steady_clock::now();
        s->m_error = int(error);
        s->m_changed.notify_all();
    });
    return stream;
}

// ---- UpstreamStream ----

UpstreamStream::~UpstreamStream()
{
    cancel();
    if (m_thread.joinable())
        m_thread.join();
}

void UpstreamStream::cancel()
{
    if (m_cancelled.exchange(true))
        return;
    // Shuts the socket down, so a read waiting for a silent upstream returns now.
    m_client->stop();
}

void UpstreamStream::waitForStart()
{
    std::unique_lock<std::mutex> lock(m_mutex);
    m_changed.wait(lock, [&] { return m_started || m_done; });
    if (!m_started)
        throw transportFailure(httplib::Error(m_error), m_url, m_timeoutSeconds, silentSeconds());
    if (m_status == 200)
        return;
    m_changed.wait(lock, [&] { return m_done; });
    const int status = m_status;
    const std::string body = m_buffer;
    lock.unlock();
    UpstreamOptions options;
    options.url = m_url;
    options.timeoutSeconds = m_timeoutSeconds;
    throw UpstreamClient(options).statusFailure(status, body);
}

std::optional<std::string> UpstreamStream::nextEvent(double waitSeconds)
{
    std::unique_lock<std::mutex> lock(m_mutex);
    auto takeEvent = [&]() -> std::optional<std::string> {
        // Events end with a blank line; servers may use \r\n.
        size_t end = std::string::npos;
        size_t skip = 0;
        for (const char* separator : {"\n\n", "\r\n\r\n"}) {
            const size_t found = m_buffer.find(separator);
            if (found < end) {
                end = found;
                skip = std::char_traits<char>::length(separator);
            }
        }
        if (end == std::string::npos)
            return std::nullopt;
        std::string event = m_buffer.substr(0, end);
        m_buffer.erase(0, end + skip);
        return event;
    };
    if (auto event = takeEvent())
        return event;
    m_changed.wait_for(lock, std::chrono::microseconds(int64_t(waitSeconds * 1e6)), [&] {
        return m_done || m_buffer.find("\n\n") != std::string::npos
            || m_buffer.find("\r\n\r\n") != std::string::npos;
    });
    return takeEvent();
}

bool UpstreamStream::finished()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_done && m_buffer.find("\n\n") == std::string::npos
        && m_buffer.find("\r\n\r\n") == std::string::npos;
}

std::string UpstreamStream::failure()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return describeErrorLocked();
}

std::string UpstreamStream::describeErrorLocked() const
{
    if (!m_done || httplib::Error(m_error) == httplib::Error::Success)
        return {};
    if (m_cancelled)
        return "cancelled";
    return transportFailure(httplib::Error(m_error), m_url, m_timeoutSeconds, silentSeconds())
        .what();
}

double UpstreamStream::silentSeconds() const
{
    return std::chrono::duration<double>(m_endedAt - m_lastData).count();
}

} // namespace moin
