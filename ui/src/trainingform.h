#pragma once
// The "Train experts" form: which clusters get an expert, and every hyperparameter of their
// training (TrainingSpec), starting from a preset, checked as it is edited.
#include "moin/coordinator.h"
#include "moin/training.h"

#include <QDialog>
#include <QString>

#include <vector>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QGroupBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QRadioButton;
class QSpinBox;

namespace moin::ui {

class ScientificSpinBox;

/// A cluster the form may train an expert for.
struct ClusterChoice {
    int cluster = 0;
    qint64 chunks = 0;
    QString keywords;
    /// It has a queued, running or paused job (the queue refuses a second one).
    bool busy = false;
    /// It has a finished expert.
    bool trained = false;
};

/// Modal-less dialog (open it with open()): OK emits submitted() and waits for the owner to add
/// the jobs and answer with finishSubmit(), which closes the dialog or shows why not.
class TrainingForm : public QDialog {
    Q_OBJECT
public:
    /// Which clusters to train.
    enum class Scope { Untrained, All, Selected };

    /// `clusters` of run `runId`; `selected` are the clusters chosen in the table.
    TrainingForm(qint64 runId, std::vector<ClusterChoice> clusters, std::vector<int> selected,
                 QWidget* parent = nullptr);

    /// The settings of the form (runId set; cluster is the first chosen one, or 0).
    TrainingSpec spec() const;
    /// Fills every field from `spec` (runId and cluster are ignored).
    void setSpec(const TrainingSpec& spec);
    /// Fills every field from a TrainingSpec::presetNames() preset.
    void applyPreset(const QString& name);

    Scope scope() const;
    void setScope(Scope scope);
    /// The clusters that will get a job: those of the scope without a job in progress and
    /// with at least 2 chunks.
    std::vector<int> chosenClusters() const;
    /// One spec per chosen cluster.
    std::vector<TrainingSpec> specs() const;

    int workers() const;
    void setWorkers(int workers);
    /// Where the workers run: this computer or a Slurm cluster, with Slurm's job settings.
    TrainingBackend backend() const;
    void setBackend(TrainingBackend backend);
    SlurmOptions slurmOptions() const;
    void setSlurmOptions(const SlurmOptions& options);
    int priority() const;
    /// Start the coordinator once the jobs are added.
    bool startNow() const;
    void setStartNow(bool start);

    /// Why the settings cannot be used (TrainingSpec::validate's message), or empty.
    QString validationError() const;
    /// While true the form waits for the owner: the buttons are disabled.
    bool isSubmitting() const { return m_submitting; }
    /// The owner's answer to submitted(): with no problems the dialog is accepted; otherwise
    /// the problems are shown and, if nothing was added, the form stays open.
    void finishSubmit(qint64 added, const QStringList& problems);

    /// The settings last submitted (QSettings), or the "quick" preset.
    static TrainingSpec lastSpec();
    /// Workers to run at once, as last chosen (QSettings); default 1.
    static int lastWorkers();
    /// Where workers run and Slurm's settings, as last chosen (QSettings); default local.
    static TrainingBackend lastBackend();
    static SlurmOptions lastSlurmOptions();

    void accept() override;

signals:
    /// OK was pressed on valid settings; read specs(), priority() and startNow().
    void submitted();

private:
    QGroupBox* buildScope();
    QGroupBox* buildAdapter();
    QGroupBox* buildOptimizer();
    QGroupBox* buildBatches();
    QGroupBox* buildLength();
    QGroupBox* buildEvaluation();
    QGroupBox* buildRun();
    void addBackendRows(QFormLayout* form);
    void updateBackendRows();
    void onEdited();
    void updateSummary();
    void setSubmitting(bool submitting);
    void showMessage(const QString& text, bool error);

    qint64 m_runId = 0;
    std::vector<ClusterChoice> m_clusters;
    std::vector<int> m_selected;
    bool m_filling = false;     // setSpec in progress: edits are not the user's
    bool m_submitting = false;

    QComboBox* m_preset = nullptr;
    QRadioButton* m_scopeUntrained = nullptr;
    QRadioButton* m_scopeAll = nullptr;
    QRadioButton* m_scopeSelected = nullptr;
    QLabel* m_scopeSummary = nullptr;

    QSpinBox* m_rank = nullptr;
    QDoubleSpinBox* m_alpha = nullptr;
    QDoubleSpinBox* m_dropout = nullptr;
    std::vector<QCheckBox*> m_modules;
    QCheckBox* m_rslora = nullptr;

    ScientificSpinBox* m_learningRate = nullptr;
    ScientificSpinBox* m_minLearningRate = nullptr;
    QDoubleSpinBox* m_weightDecay = nullptr;
    QDoubleSpinBox* m_beta1 = nullptr;
    QDoubleSpinBox* m_beta2 = nullptr;
    QSpinBox* m_warmup = nullptr;
    QDoubleSpinBox* m_gradientClip = nullptr;

    QSpinBox* m_batchSize = nullptr;
    QSpinBox* m_sequenceLength = nullptr;
    QSpinBox* m_accumulation = nullptr;
    QLabel* m_tokensPerStep = nullptr;

    QRadioButton* m_bySteps = nullptr;
    QRadioButton* m_byTokens = nullptr;
    QSpinBox* m_steps = nullptr;
    QDoubleSpinBox* m_tokenBudget = nullptr;
    QLabel* m_totalSteps = nullptr;

    QDoubleSpinBox* m_heldOut = nullptr;
    QSpinBox* m_evalEvery = nullptr;
    QSpinBox* m_checkpointEvery = nullptr;

    QSpinBox* m_seed = nullptr;
    QComboBox* m_device = nullptr;
    QSpinBox* m_workers = nullptr;
    QFormLayout* m_runForm = nullptr;
    QComboBox* m_backend = nullptr;
    QLineEdit* m_partition = nullptr;
    QLineEdit* m_account = nullptr;
    QLineEdit* m_timeLimit = nullptr;
    QLineEdit* m_gres = nullptr;
    QSpinBox* m_cpusPerTask = nullptr;
    QLineEdit* m_memory = nullptr;
    QSpinBox* m_maxConcurrent = nullptr;
    QSpinBox* m_priority = nullptr;
    QCheckBox* m_startNow = nullptr;

    QLabel* m_message = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace moin::ui
