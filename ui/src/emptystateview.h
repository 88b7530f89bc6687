#pragma once
#include <QWidget>

class QLabel;

namespace moin::ui {

/// A view's face while it has nothing to show: what the view is for, and what to do first.
class EmptyStateView : public QWidget {
    Q_OBJECT
public:
    EmptyStateView(const QIcon& icon, const QString& title, const QString& purpose,
                   QWidget* parent = nullptr);
    /// The line that says what is missing and how to get it.
    void setStatus(const QString& status);

private:
    QLabel* m_status = nullptr;
};

} // namespace moin::ui
