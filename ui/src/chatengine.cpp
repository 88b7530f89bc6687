#include "chatengine.h"

#include <QtConcurrent/QtConcurrentRun>

#include <future>

namespace moin::ui {

struct ChatEngine::Opened {
    std::unique_ptr<ServingEngine> engine;
    QString error;
    int generation = 0;
};

ChatEngine::ChatEngine(QObject* parent) : QObject(parent)
{
    qRegisterMetaType<moin::CompletionResult>();
    // A waiter only blocks on its request's future: many are cheap, and none may wait for a
    // free thread while its request is already done.
    m_waiters.setMaxThreadCount(ServingOptions().maxQueue + ServingOptions().maxBatch);
    connect(&m_openWatcher, &QFutureWatcher<std::shared_ptr<Opened>>::finished, this,
            &ChatEngine::onOpened);
}

ChatEngine::~ChatEngine()
{
    close();
    m_openWatcher.waitForFinished();
}

void ChatEngine::open(const QString& directory, const ServingOptions& options)
{
    close();
    m_directory = directory;
    m_opening = true;
    const int generation = ++m_openGeneration;
    const std::string dir = directory.toStdString();
    m_openWatcher.setFuture(QtConcurrent::run([dir, options, generation] {
        auto opened = std::make_shared<Opened>();
        opened->generation = generation;
        try {
            opened->engine = ServingEngine::open(dir, options);
        } catch (const std::exception& e) {
            opened->error = QString::fromUtf8(e.what());
        } catch (...) {
            opened->error = tr("an unknown error");
        }
        return opened;
    }));
}

void ChatEngine::onOpened()
{
    const std::shared_ptr<Opened> loaded = m_openWatcher.result();
    if (!loaded || loaded->generation != m_openGeneration)
        return; // closed or reopened meanwhile: the engine goes with `loaded`
    m_opening = false;
    if (!loaded->engine) {
        emit openFailed(loaded->error);
        return;
    }
    m_engine = std::move(loaded->engine);
    emit opened();
}

void ChatEngine::close()
{
    ++m_openGeneration; // a load under way is dropped when it arrives
    m_opening = false;
    cancelAll();
    // The waiters post their results to this object; those of forgotten ids are ignored.
    m_requests.clear();
    m_waiters.waitForDone();
    m_engine.reset();
}

quint64 ChatEngine::submit(const ChatTurn& turn, const ExpertChoice& choice, QString* error)
{
    if (!m_engine) {
        if (error)
            *error = m_opening ? tr("The model is still loading; try again in a moment.")
                               : tr("The model is not loaded.");
        return 0;
    }
    const quint64 id = m_nextId++;
    auto stream = std::make_shared<Stream>();
    auto cancel = std::make_shared<CancelToken>();
    CompletionRequest request = turn.request(choice);
    request.cancel = cancel;
    request.onToken = [this, id, stream](const std::string& delta, int32_t token) {
        const std::string text = stream->answer.push(delta, token);
        if (text.empty())
            return true;
        std::lock_guard<std::mutex> lock(stream->mutex);
        stream->buffer += text;
        if (!stream->delivering) {
            stream->delivering = true;
            // Explicitly queued: this runs on the engine's decode thread.
            QMetaObject::invokeMethod(this, [this, id] { deliver(id); }, Qt::QueuedConnection);
        }
        return true;
    };
    std::shared_ptr<std::future<CompletionResult>> future;
    try {
        future = std::make_shared<std::future<CompletionResult>>(
            m_engine->submit(std::move(request)));
    } catch (const std::exception& e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return 0;
    }
    m_requests.insert(id, Running{stream, cancel});
    m_waiters.start([this, id, future] {
        auto result = std::make_shared<CompletionResult>();
        QString message;
        try {
            *result = future->get();
        } catch (const std::exception& e) {
            message = QString::fromUtf8(e.what());
            if (message.isEmpty())
                message = tr("an unknown error");
        } catch (...) {
            message = tr("an unknown error");
        }
        QMetaObject::invokeMethod(
            this,
            [this, id, result, message] {
                if (!m_requests.contains(id))
                    return; // closed meanwhile
                deliver(id);
                m_requests.remove(id);
                if (message.isEmpty())
                    emit finished(id, *result);
                else
                    emit failed(id, message);
            },
            Qt::QueuedConnection);
    });
    return id;
}

void ChatEngine::deliver(quint64 id)
{
    const auto found = m_requests.constFind(id);
    if (found == m_requests.constEnd())
        return;
    std::string text;
    {
        std::lock_guard<std::mutex> lock(found->stream->mutex);
        text.swap(found->stream->buffer);
        found->stream->delivering = false;
    }
    if (!text.empty())
        emit textArrived(id, QString::fromStdString(text));
}

void ChatEngine::cancel(quint64 id)
{
    if (const auto found = m_requests.constFind(id); found != m_requests.constEnd())
        found->cancel->cancel();
}

void ChatEngine::cancelAll()
{
    for (const Running& running : std::as_const(m_requests))
        running.cancel->cancel();
}

} // namespace moin::ui
