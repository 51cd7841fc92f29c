pub fn app() -> axum::Router { todo!() }
