"""Meta's Graph API error shape: {"error": {message, type, code, error_subcode, fbtrace_id}}."""
import secrets

from flask import jsonify


class GraphError(Exception):
    def __init__(self, code, message, subcode=None, status=400, type_="OAuthException",
                 user_title=None, user_msg=None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.status = status
        self.type = type_
        self.user_title = user_title
        self.user_msg = user_msg
        self.headers = headers or {}

    def body(self):
        err = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.user_title:
            err["error_user_title"] = self.user_title
        if self.user_msg:
            err["error_user_msg"] = self.user_msg
        err["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:20]
        return {"error": err}

    def response(self):
        resp = jsonify(self.body())
        resp.status_code = self.status
        for k, v in self.headers.items():
            resp.headers[k] = v
        return resp


# --- common errors -----------------------------------------------------------------------

def unknown_object(obj_id, method="get"):
    return GraphError(
        100,
        f"Unsupported {method} request. Object with ID '{obj_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33, type_="GraphMethodException")


def nonexisting_field(field, node_type):
    return GraphError(100, f"(#100) Tried accessing nonexisting field ({field}) on node type ({node_type})")


def missing_permission(msg="(#10) Application does not have permission for this action"):
    return GraphError(10, msg)


def permissions_error(msg="(#200) Permissions error"):
    return GraphError(200, msg)


def param_error(msg):
    return GraphError(100, msg)


def no_token():
    return GraphError(2500, "An active access token must be used to query information about the current user.")
