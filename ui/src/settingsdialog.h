#pragma once
// Settings…: the compute device and threads, training workers, the chat's adapter cache and
// the interface language, stored by AppSettings.
#include <QDialog>

class QComboBox;
class QDialogButtonBox;
class QSpinBox;

namespace moin::ui {

/// Shows AppSettings' values; OK stores them (Cancel forgets the edits), Restore Defaults puts
/// every field back to its default. Whoever opened it applies what changed (see changes()).
class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    /// What an accepted dialog changed, for its owner to apply.
    enum Change {
        NoChange = 0,
        ServingChanged = 1,  ///< device, threads or adapter cache: the chat engine's options
        TrainingChanged = 2, ///< device, workers or threads per worker
        LanguageChanged = 4, ///< shown from the next start
    };
    Q_DECLARE_FLAGS(Changes, Change)

    explicit SettingsDialog(QWidget* parent = nullptr);

    /// Puts every field back to its default (stored only on OK).
    void restoreDefaults();
    /// Stores the fields in AppSettings; returns what differs from before.
    Changes save();
    /// What the last accept() stored differently.
    Changes changes() const { return m_changes; }

    QComboBox* deviceBox() const { return m_device; }
    QSpinBox* threadsBox() const { return m_threads; }
    QSpinBox* workersBox() const { return m_workers; }
    QSpinBox* threadsPerWorkerBox() const { return m_threadsPerWorker; }
    QSpinBox* adapterCacheBox() const { return m_adapterCache; }
    QComboBox* languageBox() const { return m_language; }
    QDialogButtonBox* buttons() const { return m_buttons; }

    void accept() override;

private:
    void load();
    void selectDevice(const QString& device);

    QComboBox* m_device = nullptr;
    QSpinBox* m_threads = nullptr;
    QSpinBox* m_workers = nullptr;
    QSpinBox* m_threadsPerWorker = nullptr;
    QSpinBox* m_adapterCache = nullptr;
    QComboBox* m_language = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    Changes m_changes = NoChange;
};

} // namespace moin::ui

Q_DECLARE_OPERATORS_FOR_FLAGS(moin::ui::SettingsDialog::Changes)
