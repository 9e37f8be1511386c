//! `/admin/employees` (HR) and `/admin/payroll` (accounting): employees' accounts and the
//! monthly payroll import, as screens.

use crate::admin::failed;
use crate::format::day;
use crate::guard::Signed;
use crate::pages::{error_for, respond, to, FieldMessage};
use crate::session::Visitor;
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use kopilka_domain::employee::EmployeeId;
use kopilka_domain::member::StoreId;
use kopilka_domain::DomainError;
use kopilka_service::employees::EmployeeInput;
use kopilka_service::ServiceError;
use kopilka_store::StaffMember;
use kopilka_text::Message;
use serde::Deserialize;

struct EmployeeRow {
    id: i64,
    name: String,
    position: String,
    login: String,
    store: i64,
    hired: String,
    status: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "admin_employees.html")]
struct EmployeesPage {
    page: Chrome,
    rows: Vec<EmployeeRow>,
    /// Whose temporary password is shown, and the password, once.
    issued: Option<(String, String)>,
    notice: Option<String>,
    errors: Vec<FieldMessage>,
    /// The new-employee form: name, label, input type, value as typed.
    fields: Vec<(&'static str, String, &'static str, String)>,
}

impl EmployeesPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct NewEmployeeForm {
    csrf: String,
    login: String,
    full_name: String,
    position: String,
    store: String,
    hired: String,
}

async fn employees_page(
    state: &WebState,
    visitor: Visitor,
    staff: &StaffMember,
    form: NewEmployeeForm,
    outcome: (Option<(String, String)>, Option<String>, Vec<FieldMessage>),
) -> Response {
    let all = match state.kopilka.employees(staff).await {
        Ok(all) => all,
        Err(e) => return failed(state, visitor, &e),
    };
    let t = visitor.texts;
    let rows = all
        .into_iter()
        .map(|e| EmployeeRow {
            id: e.id.get(),
            name: e.full_name,
            position: e.position,
            login: e.login,
            store: e.store_id.get(),
            hired: day(e.hired_on),
            status: t
                .get(if e.deactivated_at.is_some() {
                    "admin_deactivated"
                } else {
                    "admin_active"
                })
                .to_owned(),
            active: e.deactivated_at.is_none(),
        })
        .collect();
    let (issued, notice, errors) = outcome;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = EmployeesPage {
        page: Chrome::for_staff(state, &visitor, staff),
        rows,
        issued,
        notice,
        fields: vec![
            (
                "login",
                t.get("employee_login").to_owned(),
                "text",
                form.login,
            ),
            (
                "full_name",
                t.get("admin_full_name").to_owned(),
                "text",
                form.full_name,
            ),
            (
                "position",
                t.get("admin_position").to_owned(),
                "text",
                form.position,
            ),
            (
                "store",
                t.get("admin_store_id").to_owned(),
                "number",
                form.store,
            ),
            (
                "hired",
                t.get("admin_hired_on").to_owned(),
                "date",
                form.hired,
            ),
        ],
        errors,
    };
    respond(visitor, &page, status)
}

pub async fn employees(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
) -> Response {
    employees_page(
        &state,
        visitor,
        &staff,
        NewEmployeeForm::default(),
        (None, None, Vec::new()),
    )
    .await
}

const EMPLOYEE_FIELDS: [&str; 5] = ["login", "full_name", "position", "store", "hired"];

pub async fn create(
    State(state): State<WebState>,
    visitor: Visitor,
    Form(form): Form<NewEmployeeForm>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let input = EmployeeInput {
        login: &form.login,
        full_name: &form.full_name,
        position: &form.position,
        store_id: form.store.trim().parse().unwrap_or(StoreId::new(0)),
        hired_on: &form.hired,
    };
    match state.kopilka.create_employee(&staff, &input).await {
        Ok((employee, password)) => {
            let heading = visitor
                .texts
                .render(&Message::new("admin_employee_created").with("name", &employee.full_name));
            let outcome = (Some((heading, password)), None, Vec::new());
            employees_page(&state, visitor, &staff, NewEmployeeForm::default(), outcome).await
        }
        Err(ServiceError::Domain(DomainError::Validation(fields))) => {
            let errors = fields
                .iter()
                .map(|f| FieldMessage {
                    field: EMPLOYEE_FIELDS
                        .iter()
                        .find(|k| **k == f.field)
                        .copied()
                        .unwrap_or("login"),
                    message: visitor.texts.render(&f.message),
                    label: None,
                })
                .collect();
            employees_page(&state, visitor, &staff, form, (None, None, errors)).await
        }
        Err(e) => failed(&state, visitor, &e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}

/// `password` (a new temporary one) or `deactivate`.
pub async fn act(
    State(state): State<WebState>,
    visitor: Visitor,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &form.csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let id = EmployeeId::new(id);
    let k = &state.kopilka;
    let outcome = match action.as_str() {
        "password" => match k.reset_employee_password(&staff, id).await {
            Ok(password) => {
                let name = k
                    .employees(&staff)
                    .await
                    .ok()
                    .and_then(|all| all.into_iter().find(|e| e.id == id).map(|e| e.full_name));
                let heading = visitor.texts.render(
                    &Message::new("admin_password_reset").with("name", name.unwrap_or_default()),
                );
                (Some((heading, password)), None, Vec::new())
            }
            Err(e) => return failed(&state, visitor, &e),
        },
        "deactivate" => match k.deactivate_employee(&staff, id).await {
            Ok(()) | Err(ServiceError::Domain(DomainError::StateConflict)) => (
                None,
                Some(visitor.texts.get("admin_employee_closed").to_owned()),
                Vec::new(),
            ),
            Err(e) => return failed(&state, visitor, &e),
        },
        _ => return to("/admin/employees", visitor),
    };
    employees_page(&state, visitor, &staff, NewEmployeeForm::default(), outcome).await
}

#[derive(Template)]
#[template(path = "admin_payroll.html")]
struct PayrollPage {
    page: Chrome,
    notice: Option<String>,
    lines: Vec<(u64, String)>,
}

pub async fn payroll(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
) -> Response {
    let page = PayrollPage {
        page: Chrome::for_staff(&state, &visitor, &staff),
        notice: None,
        lines: Vec::new(),
    };
    respond(visitor, &page, StatusCode::OK)
}

pub async fn import(
    State(state): State<WebState>,
    visitor: Visitor,
    mut multipart: Multipart,
) -> Response {
    let (mut csrf, mut file) = (String::new(), Vec::new());
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => file = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
            _ => {}
        }
    }
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let (notice, lines, status) = match state.kopilka.import_payroll(&staff, &file).await {
        Ok(rows) => (
            Some(
                visitor
                    .texts
                    .render(&Message::new("admin_payroll_imported").with("rows", rows)),
            ),
            Vec::new(),
            StatusCode::OK,
        ),
        Err(ServiceError::Domain(DomainError::InvalidRows(rows))) => (
            None,
            rows.iter()
                .map(|r| (r.line, visitor.texts.render(&r.message)))
                .collect(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => return failed(&state, visitor, &e),
    };
    let page = PayrollPage {
        page: Chrome::for_staff(&state, &visitor, &staff),
        notice,
        lines,
    };
    respond(visitor, &page, status)
}

/// Asks before a change that cannot be taken back: what it does, and a button that does it.
#[derive(Template)]
#[template(path = "admin_confirm.html")]
pub(crate) struct ConfirmPage {
    pub(crate) page: Chrome,
    pub(crate) heading: String,
    pub(crate) explain: String,
    pub(crate) action: String,
    pub(crate) confirm: String,
    pub(crate) back: &'static str,
}

/// Asks before closing an employee's access: it ends their sessions at once.
pub async fn confirm_deactivate(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Path(id): Path<i64>,
) -> Response {
    let employee = match state.kopilka.employees(&staff).await {
        Ok(all) => all
            .into_iter()
            .find(|e| e.id.get() == id && e.deactivated_at.is_none()),
        Err(e) => return failed(&state, visitor, &e),
    };
    let Some(employee) = employee else {
        return to("/admin/employees", visitor);
    };
    let t = visitor.texts;
    let page = ConfirmPage {
        page: Chrome::for_staff(&state, &visitor, &staff),
        heading: t
            .render(&Message::new("admin_deactivate_confirm").with("name", &employee.full_name)),
        explain: t.get("admin_deactivate_explain").to_owned(),
        action: format!("/admin/employees/{id}/deactivate"),
        confirm: t.get("admin_deactivate").to_owned(),
        back: "/admin/employees",
    };
    respond(visitor, &page, StatusCode::OK)
}

/// The confirmation's answer: closes the access (`act` with `deactivate`).
pub async fn deactivate(
    state: State<WebState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    form: Form<CsrfOnly>,
) -> Response {
    act(state, visitor, Path((id, "deactivate".to_owned())), form).await
}
