#pragma once
// The serving engine of the open workspace, for the Chat view: opened on a worker thread,
// requests submitted from the UI thread, their text and results delivered back as queued
// signals.
#include "moin/chatturn.h"
#include "moin/serving.h"

#include <QFutureWatcher>
#include <QHash>
#include <QObject>
#include <QString>
#include <QThreadPool>

#include <memory>
#include <mutex>
#include <string>

Q_DECLARE_METATYPE(moin::CompletionResult)

namespace moin::ui {

/// Owns a moin::ServingEngine for one workspace folder. Every signal is emitted on the thread
/// this object lives in (the UI thread): the engine's token callbacks run on its decode thread
/// and only append to a buffer, which is handed over with one queued call at a time (however
/// fast tokens come, the event loop gets at most one pending delivery per request).
class ChatEngine : public QObject {
    Q_OBJECT
public:
    explicit ChatEngine(QObject* parent = nullptr);
    /// Cancels every request, waits for them to end and closes the engine.
    ~ChatEngine() override;

    /// Starts loading the base model and router of `directory`'s active run on a worker thread;
    /// emits opened() or openFailed(). A running request or an engine open already is closed
    /// first.
    void open(const QString& directory, const ServingOptions& options = {});
    /// Cancels every request, waits for them, and drops the engine (or a load under way).
    void close();

    bool isOpen() const { return m_engine != nullptr; }
    bool isOpening() const { return m_opening; }
    /// The folder of the open (or opening) engine.
    QString directory() const { return m_directory; }
    /// The engine, or nullptr while none is open. Its const members are thread-safe; valid until
    /// close(), open() or destruction.
    ServingEngine* engine() const { return m_engine.get(); }

    /// Queues `turn`'s request to `choice`; its text arrives through an AnswerText(Chat), as the
    /// API and `moin chat` show it. Returns its id (1, 2, ...), or 0 with `error` set when the
    /// engine refuses it (or is not open).
    quint64 submit(const ChatTurn& turn, const ExpertChoice& choice, QString* error = nullptr);
    /// Asks request `id` to stop at its next token; finished() still follows, with stop reason
    /// "cancelled".
    void cancel(quint64 id);
    void cancelAll();
    bool isRunning(quint64 id) const { return m_requests.contains(id); }
    int runningCount() const { return int(m_requests.size()); }

signals:
    void opened();
    void openFailed(const QString& message);
    /// Text request `id` produced since the last textArrived() of it (never empty).
    void textArrived(quint64 id, const QString& text);
    /// Request `id` ended; all its text was delivered before.
    void finished(quint64 id, const moin::CompletionResult& result);
    /// Request `id` failed while running (e.g. a prompt longer than the context); `message`
    /// says why. Text delivered before stays valid.
    void failed(quint64 id, const QString& message);

private:
    /// Shared by the UI thread and the engine's decode thread.
    struct Stream {
        AnswerText answer {AnswerText::Kind::Chat}; // the decode thread's own
        std::mutex mutex;
        std::string buffer; // guarded by mutex
        bool delivering = false; // guarded by mutex: a queued deliver() is on its way
    };
    struct Running {
        std::shared_ptr<Stream> stream;
        std::shared_ptr<CancelToken> cancel;
    };
    struct Opened;

    void deliver(quint64 id);
    void onOpened();

    std::unique_ptr<ServingEngine> m_engine;
    QString m_directory;
    bool m_opening = false;
    int m_openGeneration = 0;
    QFutureWatcher<std::shared_ptr<Opened>> m_openWatcher;
    // Threads that wait for each request's future (one per running request).
    QThreadPool m_waiters;
    QHash<quint64, Running> m_requests;
    quint64 m_nextId = 1;
};

} // namespace moin::ui
