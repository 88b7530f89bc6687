#include "moin/ui/appsettings.h"

#include "moin/device.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QLibraryInfo>
#include <QLocale>
#include <QPointer>
#include <QSettings>
#include <QTranslator>

#include <algorithm>

namespace moin::ui {

namespace {
constexpr auto kDeviceKey = "settings/device";
constexpr auto kThreadsKey = "settings/threads";
// TrainingForm and TrainingView read and write it through trainingWorkers().
constexpr auto kWorkersKey = "training/workers";
constexpr auto kThreadsPerWorkerKey = "settings/threadsPerWorker";
constexpr auto kAdapterCacheKey = "settings/adapterCacheMiB";
constexpr auto kLanguageKey = "settings/language";

// Embedded by qt_add_translations (ui/CMakeLists.txt).
constexpr auto kTranslationsDir = ":/i18n";
constexpr auto kTranslationPrefix = "moin_studio_";

QPointer<QTranslator> g_ownTranslator;
QPointer<QTranslator> g_qtTranslator;

void removeTranslator(QPointer<QTranslator>& translator)
{
    if (translator) {
        QCoreApplication::removeTranslator(translator);
        delete translator;
    }
}
} // namespace

QString AppSettings::device()
{
    return QSettings().value(kDeviceKey, QStringLiteral("auto")).toString();
}

void AppSettings::setDevice(const QString& device) { QSettings().setValue(kDeviceKey, device); }

int AppSettings::threads() { return std::max(0, QSettings().value(kThreadsKey, 0).toInt()); }

void AppSettings::setThreads(int threads) { QSettings().setValue(kThreadsKey, threads); }

int AppSettings::trainingWorkers()
{
    return std::max(1, QSettings().value(kWorkersKey, 1).toInt());
}

void AppSettings::setTrainingWorkers(int workers) { QSettings().setValue(kWorkersKey, workers); }

int AppSettings::threadsPerWorker()
{
    return std::max(0, QSettings().value(kThreadsPerWorkerKey, 0).toInt());
}

void AppSettings::setThreadsPerWorker(int threads)
{
    QSettings().setValue(kThreadsPerWorkerKey, threads);
}

int AppSettings::defaultAdapterCacheMiB()
{
    return int(ServingOptions().adapterCacheBytes >> 20);
}

int AppSettings::adapterCacheMiB()
{
    const int mebibytes = QSettings().value(kAdapterCacheKey, defaultAdapterCacheMiB()).toInt();
    return mebibytes > 0 ? mebibytes : defaultAdapterCacheMiB();
}

void AppSettings::setAdapterCacheMiB(int mebibytes)
{
    QSettings().setValue(kAdapterCacheKey, mebibytes);
}

QString AppSettings::language() { return QSettings().value(kLanguageKey).toString(); }

void AppSettings::setLanguage(const QString& language)
{
    QSettings().setValue(kLanguageKey, language);
}

void AppSettings::restoreDefaults()
{
    QSettings settings;
    for (const char* key : {kDeviceKey, kThreadsKey, kWorkersKey, kThreadsPerWorkerKey,
                            kAdapterCacheKey, kLanguageKey})
        settings.remove(key);
}

ServingOptions AppSettings::servingOptions()
{
    ServingOptions options;
    options.device = device().toStdString();
    // LibTorch's own choice, read before any engine changed it: going back to "automatic"
    // must undo an earlier explicit count, which setComputeThreads(0) would keep.
    static const int automaticThreads = computeThreads();
    options.threads = threads() > 0 ? threads() : automaticThreads;
    options.adapterCacheBytes = int64_t(adapterCacheMiB()) << 20;
    return options;
}

void AppSettings::applyTo(CoordinatorOptions& options)
{
    options.workers = trainingWorkers();
    options.threadsPerWorker = threadsPerWorker();
    // "auto" leaves the list empty: the coordinator spreads workers over every GPU it finds.
    const QString chosen = device();
    options.devices.clear();
    if (chosen != QLatin1String("auto"))
        options.devices.push_back(chosen.toStdString());
}

QStringList AppSettings::availableLanguages()
{
    QStringList languages{QStringLiteral("en")};
    const QStringList files = QDir(kTranslationsDir)
                                  .entryList({kTranslationPrefix + QStringLiteral("*.qm")},
                                             QDir::Files);
    for (const QString& file : files) {
        const QString code = QFileInfo(file).completeBaseName().mid(
            int(qstrlen(kTranslationPrefix)));
        if (!code.isEmpty() && !languages.contains(code))
            languages.append(code);
    }
    std::sort(languages.begin(), languages.end());
    return languages;
}

QString AppSettings::languageName(const QString& language)
{
    // QLocale names "en" "American English"; the source language is plain English.
    if (language == QLatin1String("en"))
        return QStringLiteral("English");
    QString name = QLocale(language).nativeLanguageName();
    if (name.isEmpty())
        return language;
    name[0] = name[0].toUpper();
    return name;
}

QString AppSettings::installTranslators(const QString& language)
{
    removeTranslator(g_ownTranslator);
    removeTranslator(g_qtTranslator);

    auto* own = new QTranslator(QCoreApplication::instance());
    const bool loaded =
        language.isEmpty()
            ? own->load(QLocale(), QStringLiteral("moin_studio"), QStringLiteral("_"),
                        kTranslationsDir)
            : own->load(kTranslationPrefix + language, kTranslationsDir);
    if (!loaded) {
        delete own;
        return QStringLiteral("en");
    }
    QCoreApplication::installTranslator(own);
    g_ownTranslator = own;
    // The file found names the language: moin_studio_de.qm -> "de".
    const QString shown = QFileInfo(own->filePath()).completeBaseName().mid(
        int(qstrlen(kTranslationPrefix)));
    if (shown == QLatin1String("en"))
        return shown;

    auto* qt = new QTranslator(QCoreApplication::instance());
    if (qt->load(QLocale(shown), QStringLiteral("qtbase"), QStringLiteral("_"),
                 QLibraryInfo::path(QLibraryInfo::TranslationsPath))) {
        QCoreApplication::installTranslator(qt);
        g_qtTranslator = qt;
    } else {
        delete qt; // Qt's translations are not installed: standard buttons stay English
    }
    return shown;
}

QString AppSettings::deviceLabel(const QString& id)
{
    // In the Settings dialog's translation context, where these words were first translated.
    if (id == QLatin1String("cpu"))
        return QCoreApplication::translate("moin::ui::SettingsDialog", "CPU");
    if (id.startsWith(QLatin1String("cuda:"))) {
        return QCoreApplication::translate("moin::ui::SettingsDialog", "CUDA device %1")
            .arg(id.mid(5));
    }
    return id;
}

} // namespace moin::ui
