#pragma once
#include "moin/corpus.h"

#include <QDialog>
#include <QStringList>

class QLabel;
class QLineEdit;
class QSpinBox;

namespace moin::ui {

/// Asks how the chosen files are to be read and cut into chunks before an import starts: the
/// JSON Lines text field, the chunk size, the overlap and the shortest chunk kept. Starts from
/// the options used last (QSettings) and remembers them when accepted.
class ImportDialog : public QDialog {
    Q_OBJECT
public:
    /// `paths` are the files and folders about to be imported (shown, not changed).
    explicit ImportDialog(const QStringList& paths, QWidget* parent = nullptr);

    ImportOptions options() const;
    void setOptions(const ImportOptions& options);
    QStringList paths() const { return m_paths; }

    /// The options of the last accepted dialog, or the defaults.
    static ImportOptions lastOptions();

    void accept() override;

private:
    void updateLimits();

    QStringList m_paths;
    QLineEdit* m_textField = nullptr;
    QSpinBox* m_chunkTokens = nullptr;
    QSpinBox* m_overlapTokens = nullptr;
    QSpinBox* m_minChunkTokens = nullptr;
    QLabel* m_error = nullptr;
};

} // namespace moin::ui
