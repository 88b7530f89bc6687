#pragma once
// The application's preferences: typed accessors over QSettings with their defaults, the one
// place their keys are spelled; and the translations the application ships.
#include "moin/coordinator.h"
#include "moin/serving.h"

#include <QString>
#include <QStringList>

namespace moin::ui {

class AppSettings {
public:
    /// Compute device for the chat and the training workers: "auto", "cpu" or "cuda:N".
    /// Default "auto" (the first CUDA device, else the CPU).
    static QString device();
    static void setDevice(const QString& device);

    /// LibTorch threads of the application's own work (the chat); 0 = automatic (one per
    /// core). Default 0.
    static int threads();
    static void setThreads(int threads);

    /// Training processes run at once, 1 or more. Default 1. The same key the training form
    /// and the Experts & training view remember their value under.
    static int trainingWorkers();
    static void setTrainingWorkers(int workers);

    /// LibTorch threads of each training worker; 0 = the cores divided by the workers.
    /// Default 0.
    static int threadsPerWorker();
    static void setThreadsPerWorker(int threads);

    /// MiB of expert adapters the chat keeps loaded. Default: ServingOptions' 256 MiB.
    static int adapterCacheMiB();
    static void setAdapterCacheMiB(int mebibytes);
    static int defaultAdapterCacheMiB();

    /// Language of the interface: a code of availableLanguages() ("en", "de"), or empty for
    /// the system's language. Default empty.
    static QString language();
    static void setLanguage(const QString& language);

    /// Forgets every value above, so each returns its default.
    static void restoreDefaults();

    /// The chat engine's options: device, threads and adapter cache from these settings.
    static ServingOptions servingOptions();
    /// Sets the coordinator's workers, threads per worker and devices from these settings.
    static void applyTo(CoordinatorOptions& options);

    /// A device id for people, translated: "CPU", "CUDA device 1"; other ids as they are.
    static QString deviceLabel(const QString& id);

    /// Language codes the application has translations of, sorted; "en" (the source
    /// language) is always among them.
    static QStringList availableLanguages();
    /// The language's own name for itself, e.g. "Deutsch" for "de".
    static QString languageName(const QString& language);
    /// Replaces the application's translators with those of `language` (empty: the system's
    /// language): MoIN Studio's own and Qt's (standard buttons and dialogs, when Qt's
    /// translations are installed). Returns the language now shown ("en" when none matched).
    static QString installTranslators(const QString& language);
};

} // namespace moin::ui
